/** Settings of the rating service: FreeSWITCH event sockets, CGRateS, the policy when CGRateS is away, CDR output. */
import { s, type Setting } from '../shared/config/settings.ts';

export interface EslNodeSetting {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

const ESL_ITEM = /^(?:([A-Za-z0-9_.-]{1,64})=)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const TENANT_ITEM = /^([^=\s,]+)=(\*prepaid|\*pseudoprepaid|\*postpaid|\*rated|\*none)$/;

/** `FREESWITCH_ESL` (already checked by its pattern) → nodes; a name given twice is refused. */
export function parseEslNodes(raw: string): EslNodeSetting[] {
  const out: EslNodeSetting[] = [];
  for (const item of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = ESL_ITEM.exec(item);
    if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) throw new Error(`FREESWITCH_ESL item ${JSON.stringify(item)} is not host:port or name=host:port`);
    const name = m[1] ?? `${m[2]}:${m[3]}`;
    if (out.some((n) => n.name === name)) throw new Error(`FREESWITCH_ESL names node ${JSON.stringify(name)} twice`);
    out.push({ name, host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) });
  }
  return out;
}

export function parseTenantReqtypes(raw: string): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const item of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = TENANT_ITEM.exec(item);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

const listOf = (item: RegExp): RegExp => new RegExp(`^\\s*(${item.source.slice(1, -1)})(\\s*,\\s*(${item.source.slice(1, -1)}))*\\s*$`);

export const ratingSettings = {
  freeswitchEsl: s.string('FREESWITCH_ESL', '',
    'FreeSWITCH event sockets (inbound mode) to rate, e.g. `fs1=10.0.0.5:8021,fs2=10.0.0.6:8021`. The name (default '
    + '`host:port`) is the node in CDRs and the CGRateS OriginHost unless the channel sets `cgr_originhost`. Unset: the '
    + 'rating service is not started.', listOf(ESL_ITEM), 'a comma-separated list of host:port or name=host:port'),
  freeswitchEslPassword: {
    ...s.secret('FREESWITCH_ESL_PASSWORD', 'Event-socket password (mod_event_socket `password`).'),
    defaultText: 'ClueCon',
    parse: (raw: string | undefined): string => (raw === undefined || raw === '' ? 'ClueCon' : raw),
  } as Setting<string>,
  freeswitchEslIdleTimeout: s.duration('FREESWITCH_ESL_IDLE_TIMEOUT', 60_000,
    'An event socket silent this long (FreeSWITCH sends HEARTBEAT every 20 s) is presumed dead and reopened.', '60s'),
  freeswitchEslCommandTimeout: s.duration('FREESWITCH_ESL_COMMAND_TIMEOUT', 5_000, 'How long an `api`/`bgapi`/`sendmsg` waits for its reply.', '5s'),
  freeswitchEslBackoffMax: s.duration('FREESWITCH_ESL_BACKOFF_MAX', 10_000,
    'Longest wait between reconnect attempts (starts at 200 ms, doubles, jittered); attempts never stop.', '10s'),
  cgratesUrl: s.string('CGRATES_URL', 'http://127.0.0.1:2080/jsonrpc',
    'CGRateS JSON-RPC (v0.10.x `SessionSv1`/`APIerSv2`/`Responder`): `http(s)://host:2080/jsonrpc`, or `tcp://host:2012` for its raw '
    + 'JSON-RPC listener on persistent multiplexed connections (about 15x faster per authorization here; bench/README.md).',
    /^(https?:\/\/\S+|tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5})$/, 'an absolute http(s) URL or tcp://host:port'),
  cgratesTenant: s.string('CGRATES_TENANT', 'cgrates.org', 'Tenant of calls whose channel has no `cgr_tenant`.'),
  cgratesTimeout: s.duration('CGRATES_TIMEOUT', 2_000, 'Timeout of one CGRateS call; a park waits at most this long for its decision.', '2s'),
  cgratesBreakerFailures: s.int('CGRATES_BREAKER_FAILURES', 5, 1, 1000,
    'Consecutive CGRateS failures (no answer) that open the circuit breaker: calls then fail fast until the cooldown ends.'),
  cgratesBreakerCooldown: s.duration('CGRATES_BREAKER_COOLDOWN', 5_000, 'How long the breaker stays open before one trial call.', '5s'),
  ratingDefaultReqtype: s.enumOf('RATING_DEFAULT_REQTYPE', ['*prepaid', '*pseudoprepaid', '*postpaid', '*rated', '*none'] as const, '*rated',
    'Request type of calls whose channel has no `cgr_reqtype` and whose tenant has none in `RATING_TENANT_REQTYPES` (CGRateS\' own default is `*rated`).'),
  ratingTenantReqtypes: s.string('RATING_TENANT_REQTYPES', '', 'Per-tenant default request type, e.g. `acme=*prepaid,beta=*postpaid`.',
    listOf(TENANT_ITEM), 'a comma-separated list of tenant=*prepaid|*pseudoprepaid|*postpaid|*rated|*none'),
  ratingPrepaidFailOpen: s.bool('RATING_PREPAID_FAIL_OPEN', false,
    'When CGRateS does not answer a prepaid authorization: `false` refuses the call (safe), `true` lets it through capped at `RATING_FAIL_OPEN_MAX_DURATION` and rates it later.'),
  ratingFailOpenMaxDuration: s.duration('RATING_FAIL_OPEN_MAX_DURATION', 60_000, 'Cut-off of a prepaid call let through while CGRateS is away.', '60s'),
  ratingRefuseCause: s.string('RATING_REFUSE_CAUSE', 'OUTGOING_CALL_BARRED',
    'Hangup cause of a prepaid call refused at park (no credit, unknown account, CGRateS away); FreeSWITCH maps it to the SIP answer (OUTGOING_CALL_BARRED → 403).',
    /^[A-Z_]{3,40}$/, 'a FreeSWITCH hangup cause name'),
  ratingDebitInterval: s.duration('RATING_DEBIT_INTERVAL', 0,
    'With 0, the answer reserves the authorized usage in CGRateS and the hangup refunds the rest. Otherwise `UpdateSession` debits every interval and re-arms the cut-off with what is left.', '0s'),
  ratingRetryInterval: s.duration('RATING_RETRY_INTERVAL', 5_000, 'How often CDRs whose rating failed or was deferred are re-rated.', '5s'),
  ratingMaxAttempts: s.int('RATING_MAX_ATTEMPTS', 50, 1, 100_000, 'Rating attempts of one CDR before it stays `failed` for an operator.'),
  ratingJsonCdrWait: s.duration('RATING_JSON_CDR_WAIT', 10_000,
    'After a reconnect, how long a call that ended while the socket was down waits for its mod_json_cdr post before it is billed to the last moment it was known up (marked estimated).', '10s'),
  ratingSpoolDir: s.string('RATING_SPOOL_DIR', 'data/rating-spool', 'Directory of the CDR journal: CDRs not yet confirmed by ClickHouse survive a restart there.'),
  ratingCdrTopic: s.string('RATING_CDR_TOPIC', 'cdrs', 'Kafka topic (after `KAFKA_TOPIC_PREFIX`) receiving every CDR revision, keyed by Unique-ID.',
    /^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" or "-"'),
  ratingJsonCdrCredentials: s.secret('RATING_JSON_CDR_CREDENTIALS',
    '`user:password` that FreeSWITCH\'s mod_json_cdr sends (its `cred` param, `auth-scheme` basic) to the API\'s `POST /freeswitch/cdr`. '
    + 'Unset: that route refuses every post.', 8),
  ratingMetricsHost: s.string('RATING_METRICS_HOST', '127.0.0.1', 'Address of the rating service\'s `/healthz` and `/metrics` (port `METRICS_PORT`).'),
} as const;
