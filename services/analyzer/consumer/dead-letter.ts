/**
 * Rows a table refuses for good (a non-retryable ClickHouse error: a value the column cannot take, a constraint, a
 * bug in a row builder) become `sip_quarantine` rows with reason `store_refused`: the refused row itself as JSON in
 * `raw_base64`, the table and the server's error in `detail`, and the Kafka position when the row has one. The
 * partition then moves on. Pure: building the row cannot fail.
 */
import { isTollgateError } from '../../shared/errors.ts';
import type { QuarantineRow, TableName } from '../store/rows.ts';

export const STORE_REFUSED = 'store_refused';

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
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
  table: TableName, row: Readonly<Record<string, unknown>>, detail: string, at: { topic: string; partition: number; fallbackTs: string },
): QuarantineRow {
  const ts = str(row['ts'], str(row['setup_ts'], at.fallbackTs));
  return {
    ts,
    received_at: str(row['received_at'], ts),
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
    raw_base64: Buffer.from(JSON.stringify({ table, row })).toString('base64'),
    kafka_topic: at.topic,
    kafka_partition: at.partition,
    kafka_offset: uint(row['kafka_offset'], Number.MAX_SAFE_INTEGER),
  };
}
