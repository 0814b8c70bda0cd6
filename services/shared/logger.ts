/**
 * pino, configured once per process. Secrets are redacted by key name wherever they appear in a logged object, so
 * a careless `log.info({ config })` cannot leak the HEP key, API keys or database passwords; and credentials in any
 * URL inside a line (a message, an error text, a stack) are masked before the line is written.
 */
import { pino, type Logger } from 'pino';
import { redactText } from './redact.ts';

export type { Logger } from 'pino';

export const REDACTED_KEYS = [
  'password', 'clickhousePassword', 'hepAuthKey', 'authKey', 'apiKeys', 'apiKey', 'secret', 'webhookSecret',
  'authorization', 'cgratesPassword', 'eslPassword', 'token',
] as const;

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'auto' | 'json' | 'pretty';
  readonly name: string;
  /** Where JSON lines go; defaults to stdout. Tests pass a stream to inspect output. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `headers.${k}`, `req.headers.${k}`]);
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY === true && !opts.destination);
  const base = {
    level: opts.level, name: opts.name, redact: { paths, censor: '<redacted>' },
    hooks: { streamWrite: (line: string) => (line.includes('@') || line.includes('=') ? redactText(line) : line) },
  };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return opts.destination ? pino(base, opts.destination) : pino(base);
}
