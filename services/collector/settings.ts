/** Settings of the HEP collector (listeners, admission filters) and of the publisher queue/spool it feeds. */
import { s } from '../shared/config/settings.ts';

const MiB = 1024 * 1024;

export const collectorSettings = {
  hepHost: s.string('HEP_HOST', '127.0.0.1',
    'Address the HEP listeners bind (UDP, TCP, TLS). Loopback by default so a fresh install is not an open capture '
    + 'port; use `0.0.0.0` (all IPv4) or `::` (all IPv6, and IPv4 too where the OS maps it) to take HEP from proxies.'),
  hepPort: s.port('HEP_PORT', 9060, 'HEP port, UDP and TCP.'),
  hepIpv6: s.bool('HEP_IPV6', false,
    'Also bind the IPv6 counterpart of `HEP_HOST` (`::1` for `127.0.0.1`, `::` for `0.0.0.0`) on the same ports.'),
  hepTlsPort: s.optionalString('HEP_TLS_PORT',
    'HEP over TLS port (same framing as TCP). Unset: no TLS listener. Requires `HEP_TLS_CERT` and `HEP_TLS_KEY`.'),
  hepTlsCert: s.optionalString('HEP_TLS_CERT', 'PEM certificate file (chain) of the TLS listener.'),
  hepTlsKey: s.optionalString('HEP_TLS_KEY', 'PEM private key file of the TLS listener.'),
  hepAuthKey: s.secret('HEP_AUTH_KEY',
    'When set, only packets carrying this key in HEP chunk 14 are accepted; others are dropped and counted (`reason="auth"`). '
    + 'The key chunk is removed from every packet before its record goes to Kafka, whether or not a key is set.'),
  hepCaptureIds: s.string('HEP_CAPTURE_IDS', '',
    'Comma-separated capture agent ids (chunk 12) to accept; others are dropped and counted (`reason="capture_id"`). Unset: all.',
    /^\s*\d+(\s*,\s*\d+)*\s*$/, 'a comma-separated list of integers'),
  hepAllowedSources: s.string('HEP_ALLOWED_SOURCES', '',
    'Comma-separated IPv4/IPv6 CIDRs (or single addresses) allowed to send HEP; others are dropped and counted '
    + '(`reason="source_not_allowed"`) and TCP/TLS connections from them are refused. Unset: any.',
    /^[0-9A-Fa-f:.\/,\s]+$/, 'a comma-separated list of CIDRs'),
  hepMaxTcpConnections: s.int('HEP_MAX_TCP_CONNECTIONS', 1024, 1, 1_000_000,
    'Most concurrent HEP TCP plus TLS connections; further connections are closed at once and counted.'),
  hepTcpIdleTimeout: s.duration('HEP_TCP_IDLE_TIMEOUT', 300_000,
    'A HEP TCP/TLS connection silent this long is closed (senders reconnect).', '5m'),
  hepUdpRecvBuffer: s.int('HEP_UDP_RECV_BUFFER', 32 * MiB, 65_536, 1024 * MiB,
    'UDP receive buffer (SO_RCVBUF) in bytes, absorbs bursts while the event loop is busy. Linux caps it at '
    + '`net.core.rmem_max` (`npm run setup` raises it to 33554432 when it may); the effective size is logged at start.'),
  hepMaxPacketSize: s.int('HEP_MAX_PACKET_SIZE', 65_535, 64, 65_535,
    'Largest HEP packet accepted; larger ones are dropped and counted (`reason="decode:too_large"`).'),
  hepTimestampSkew: s.duration('HEP_TIMESTAMP_SKEW', 5_000,
    'A HEP timestamp further than this in the future (or zero) is replaced by the receive time and flagged.', '5s'),
  hepDecode: s.enumOf('HEP_DECODE', ['lazy', 'full'] as const, 'lazy',
    'How the collector reads each packet before routing it. `lazy` walks the chunks once for what routing needs (payload '
    + 'type, capture id, timestamp, auth key, correlation id / Call-ID) and forwards the bytes; `full` decodes the whole '
    + 'packet first (addresses as text, node name), as before. Both accept and refuse the same packets and write the same '
    + 'records; `PUBLISH_HEADERS=full` always decodes fully. Kept for comparison in bench/collector.bench.ts.'),
  hepEnvelopeSlab: s.int('HEP_ENVELOPE_SLAB', 256 * 1024, 0, 64 * MiB,
    'Bytes of the slabs the collector carves capture envelopes from (one allocation per few hundred packets instead of '
    + 'a fresh 8 KiB Buffer pool every ~7; bench/PROFILE.md, "Collector: second pass"). Packets of an eighth of it or '
    + 'more get their own buffer. 0: one `Buffer.allocUnsafe` per envelope, as before. With `HEP_DECODE=lazy` only.'),
  publishKafkaClient: s.enumOf('PUBLISH_KAFKA_CLIENT', ['platformatic', 'kafkajs'] as const, 'platformatic',
    'Kafka client of the capture publisher. `platformatic` (@platformatic/kafka) carries about twice the records per CPU '
    + 'second of `kafkajs` (bench/README.md); both are idempotent, acks=all, same key → partition mapping.'),
  publishHeaders: s.enumOf('PUBLISH_HEADERS', ['full', 'minimal', 'none'] as const, 'none',
    'Kafka headers of each capture record: `none`, `minimal` (type, plus `ts_fixed` when the timestamp was replaced) or '
    + '`full` (also capture id, node, src, dst, ts). Everything in them is also in the record (topic, envelope flags, '
    + 'HEP bytes) and no tollgate consumer reads them; `minimal` costs about 1 µs of collector CPU per packet, `full` '
    + 'about a quarter of the collector\'s CPU (bench/PROFILE.md, bench/README.md). Set them for outside consumers that route on headers.'),
  publishQueueBytes: s.int('PUBLISH_QUEUE_BYTES', 64 * MiB, MiB, 16 * 1024 * MiB,
    'Bytes of accepted records held in memory waiting for Kafka before the publisher spools to disk.'),
  publishLinger: s.duration('PUBLISH_LINGER', 20,
    'How long the publisher lets a batch fill before sending it to Kafka when the queue is short (a full batch, 1 MiB, '
    + 'goes at once). Each produce request costs the collector ~0.35 ms of CPU whatever its size, so a longer linger means '
    + 'fewer, larger requests and less CPU per packet at moderate rates, for up to that much more capture latency '
    + '(bench/PROFILE.md, "Collector: second pass"; it was 5ms).', '20ms'),
  publishSpoolDir: s.string('PUBLISH_SPOOL_DIR', 'data/spool',
    'Directory of the disk spool used while Kafka is slow or down (replayed in order when it is back).'),
  publishSpoolBytes: s.int('PUBLISH_SPOOL_BYTES', 1024 * MiB, 0, 1024 * 1024 * MiB,
    'Most bytes the spool may hold; beyond it records are dropped and counted (`reason="spool_full"`). 0 disables the spool.'),
  publishSpoolFsync: s.enumOf('PUBLISH_SPOOL_FSYNC', ['always', 'interval', 'never'] as const, 'interval',
    'When spooled records are fsynced: on every append, on a timer (`PUBLISH_SPOOL_FSYNC_INTERVAL`), or left to the OS.'),
  publishSpoolFsyncInterval: s.duration('PUBLISH_SPOOL_FSYNC_INTERVAL', 1_000,
    'fsync period of the spool with `PUBLISH_SPOOL_FSYNC=interval`.', '1s'),
} as const;
