/**
 * JSON-RPC 2.0 over HTTP, the one wire both edges speak (Kamailio jsonrpcs over xhttp, OpenSIPS mi_http). Every
 * call has a deadline; an answer that is not a JSON-RPC envelope is an error naming what came back.
 */
import { TollgateError } from '../../shared/errors.ts';
import { GuardErrors } from '../errors.ts';

export class RpcFault extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'RpcFault';
  }
}

let nextId = 1;

export async function jsonRpc(url: string, method: string, params: unknown, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
  const id = nextId++;
  const deadline = AbortSignal.timeout(timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      // mi_http answers only application/json; jsonrpcs does not mind.
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method, params, id }),
      signal: signal === undefined ? deadline : AbortSignal.any([deadline, signal]),
    });
    text = await res.text();
  } catch (err) {
    const why = deadline.aborted ? `no answer within ${timeoutMs} ms` : (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    throw new TollgateError(GuardErrors.edgeFailed, `${method} to ${redact(url)}: ${why}`, { url: redact(url), method }, { cause: err });
  }
  let body: { jsonrpc?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new TollgateError(GuardErrors.edgeFailed, `${method} to ${redact(url)}: HTTP ${res.status}, not JSON-RPC: ${JSON.stringify(text.slice(0, 120))}`, { url: redact(url), method, status: res.status });
  }
  if (body === null || typeof body !== 'object' || (!('result' in body) && !('error' in body))) {
    throw new TollgateError(GuardErrors.edgeFailed, `${method} to ${redact(url)}: HTTP ${res.status}, not a JSON-RPC envelope: ${JSON.stringify(text.slice(0, 120))}`, { url: redact(url), method });
  }
  if (body.error !== undefined && body.error !== null) {
    throw new RpcFault(Number(body.error.code ?? 0), String(body.error.message ?? 'error'));
  }
  return body.result;
}

/** A URL fit for logs and metric labels: no credentials, no query. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<bad url>';
  }
}
