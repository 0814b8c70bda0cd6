/**
 * `npm run import -- <file.pcap|file.pcapng> [--shift-to-now] [--speed N]`: reads a capture, publishes its SIP
 * (and any HEP inside it) to the capture topics as the collector would, shows progress on stderr and ends with a
 * summary. Kafka comes from KAFKA_BROKERS / KAFKA_TOPIC_PREFIX like every service; `npm run import` runs it through
 * `scripts/import.ts`, which brings up the local stack when KAFKA_BROKERS is unset (run on its own, this entry
 * refuses to start without it, as every service does).
 */
import { access, constants } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { commonSettings } from '../shared/config/common.ts';
import { parseSettings } from '../shared/config/settings.ts';
import { TollgateError } from '../shared/errors.ts';
import { createKafka } from '../shared/kafka/client.ts';
import { KafkaRecordProducer } from '../shared/kafka/kafkajs-producer.ts';
import { ensureTopicsWith, topicCatalogue } from '../shared/kafka/topics.ts';
import { resolveEndpoints, type Configured } from '../endpoints.ts';
import { ImporterErrors } from './errors.ts';
import { importCapture, type ImportSummary } from './import.ts';

export interface ImportArgs {
  readonly file: string;
  readonly shiftToNow: boolean;
  readonly speed: number | undefined;
  readonly json: boolean;
}

const USAGE = 'usage: npm run import -- <file.pcap|file.pcapng> [--shift-to-now] [--speed N] [--json]';

export function parseImportArgs(argv: readonly string[]): ImportArgs {
  let file: string | undefined;
  let shiftToNow = false;
  let speed: number | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--shift-to-now') shiftToNow = true;
    else if (a === '--json') json = true;
    else if (a === '--speed' || a.startsWith('--speed=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n <= 0) {
        throw new TollgateError(ImporterErrors.badArgs, `--speed needs a positive number (1 = as captured, 10 = ten times faster), got ${v ?? 'nothing'}. ${USAGE}`);
      }
      speed = n;
    } else if (a.startsWith('-')) {
      throw new TollgateError(ImporterErrors.badArgs, `unknown option ${a}. ${USAGE}`);
    } else if (file === undefined) file = a;
    else throw new TollgateError(ImporterErrors.badArgs, `one capture file at a time, got ${file} and ${a}. ${USAGE}`);
  }
  if (file === undefined) throw new TollgateError(ImporterErrors.badArgs, `no capture file given. ${USAGE}`);
  return { file, shiftToNow, speed, json };
}

export function formatSummary(s: ImportSummary): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const when = (us: number | undefined) => (us === undefined ? '-' : new Date(us / 1000).toISOString());
  const skipped = Object.entries(s.skipped);
  return [
    `import: ${s.file} (${s.format ?? 'unknown'}, ${n(s.bytes)} bytes)`,
    `  packets read      ${n(s.packets)}`,
    `  SIP messages      ${n(s.sipMessages)}${s.hepPackets > 0 ? ` (+ ${n(s.hepPackets)} HEP packets passed through)` : ''}`,
    `  published         ${n(s.published)} records, capture id ${s.captureId}, node ${s.node}`,
    `  calls             ${n(s.calls)}`,
    `  registrations     ${n(s.registrations)}`,
    `  capture time      ${when(s.firstTsUs)} … ${when(s.lastTsUs)}${s.shiftedByUs !== 0 ? ` (shifted by ${(s.shiftedByUs / 1e6).toFixed(3)} s)` : ''}`,
    `  skipped           ${skipped.length === 0 ? 'nothing' : skipped.map(([r, c]) => `${r} ${n(c)}`).join(', ')}`,
    `  took              ${s.seconds.toFixed(2)} s, ${n(Math.round(s.messagesPerSecond))} records/s`,
  ].join('\n');
}

/** Where Kafka is: the configured brokers (services), or the local stack's when unset (the dev entry). */
export type KafkaResolver = (configured: Configured, progress: (line: string) => void) => Promise<{ kafkaBrokers: string[] }>;

const configuredKafka: KafkaResolver = (configured, progress) => resolveEndpoints(configured, progress, 'kafka');

export async function runImport(resolveKafka: KafkaResolver = configuredKafka): Promise<void> {
  const args = parseImportArgs(process.argv.slice(2));
  const config = parseSettings(commonSettings, process.env);
  // The command's own output is the progress and the summary; client chatter only when it is an error.
  const log = pino({ level: config.logLevel === 'info' ? 'error' : config.logLevel });
  try {
    await access(args.file, constants.R_OK);
  } catch (err) {
    throw new TollgateError(ImporterErrors.badArgs, `cannot read the capture file ${args.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { kafkaBrokers } = await resolveKafka(config, (line) => process.stderr.write(`import: ${line}\n`));
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: `${config.kafkaClientId}-import`, log });
  await ensureTopicsWith(kafka, topicCatalogue(config.kafkaTopicPrefix, config.kafkaPartitions, config.kafkaRetention));
  const producer = new KafkaRecordProducer({ kafka, log, sendTimeoutMs: 30_000 });
  await producer.connect();
  const tty = process.stderr.isTTY;
  try {
    const summary = await importCapture({
      path: args.file,
      topicPrefix: config.kafkaTopicPrefix,
      shiftToNow: args.shiftToNow,
      ...(args.speed !== undefined ? { speed: args.speed } : {}),
      send: (b) => producer.send(b),
      onProgress: (p) => {
        const pct = p.totalBytes > 0 ? ` (${Math.floor((100 * p.bytesRead) / p.totalBytes)}%)` : '';
        process.stderr.write(`${tty ? '\r' : ''}import: ${p.packets.toLocaleString('en-US')} packets, ${p.sipMessages.toLocaleString('en-US')} SIP messages, `
          + `${p.published.toLocaleString('en-US')} published, ${(p.bytesRead / 1048576).toFixed(1)} of ${(p.totalBytes / 1048576).toFixed(1)} MiB${pct}${tty ? '' : '\n'}`);
      },
    });
    if (tty) process.stderr.write('\n');
    process.stdout.write(`${args.json ? JSON.stringify(summary) : formatSummary(summary)}\n`);
  } finally {
    await producer.disconnect();
  }
}

/** Runs the command and reports a failure as one line on stderr with exit code 1. */
export function runImportCommand(resolveKafka?: KafkaResolver): void {
  runImport(resolveKafka).catch((err: unknown) => {
    process.stderr.write(`import: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runImportCommand();
