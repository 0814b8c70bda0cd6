/**
 * Rows a table refuses for good (a non-retryable ClickHouse error: a value the column cannot take, a constraint, a
 * bug in a row builder) become `sip_quarantine` rows with reason `store_refused`: the refused row itself as JSON in
 * `raw_base64` (times as text, as the JSON insert format carries them), the table and the server's error in `detail`, and the Kafka position when the row has one. The
 * partition then moves on. Pure: building the row cannot fail.
 */
import { isTollgateError } from '../../shared/errors.ts';
import type { QuarantineRow, TableName } from '../store/rows.ts';
import { textRow } from '../store/table-writer.ts';

export const STORE_REFUSED = 'store_refused';

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

/** A time column's µs, when it is one. */
function time(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

function uint(v: unknown, max: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : 0;
}

/** The error as one line: stable code first, then the server's message. */
export function refusalDetail(table: TableName, err: unknown): string {
  const code = isTollgateError(err) ? `${err.code}${err.details['serverCode'] ? ` ${String(err.details['serverCode'])}` : ''}` : 'error';
  return `${table}: ${code}: ${(err as Error)?.message ?? String(err)}`.slice(0, 1000);
}

export function deadLetterRow(
  table: TableName, row: Readonly<Record<string, unknown>>, detail: string, at: { topic: string; partition: number; fallbackUs: number },
): QuarantineRow {
  const ts = time(row['ts']) ?? time(row['setup_ts']) ?? at.fallbackUs;
  return {
    ts,
    received_at: time(row['received_at']) ?? ts,
    tenant: str(row['tenant'], ''),
    domain: str(row['domain']),
    reason: STORE_REFUSED,
    detail,
    call_id: str(row['call_id']),
    src_ip: str(row['src_ip']),
    src_port: uint(row['src_port'], 65_535),
    dst_ip: str(row['dst_ip']),
    dst_port: uint(row['dst_port'], 65_535),
    transport: str(row['transport']),
    capture_id: uint(row['capture_id'], 0xffff_ffff),
    node: str(row['node']),
    payload_type: table === 'sip_messages' ? 1 : 0,
    raw_base64: Buffer.from(JSON.stringify({ table, row: textRow(table, row) })).toString('base64'),
    kafka_topic: at.topic,
    kafka_partition: at.partition,
    kafka_offset: uint(row['kafka_offset'], Number.MAX_SAFE_INTEGER),
  };
}
