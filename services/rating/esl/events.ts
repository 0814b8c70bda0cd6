/**
 * Frames → events. A `text/event-plain` frame's body is itself a header block with URL-encoded values, optionally
 * followed (BACKGROUND_JOB, api results) by its own Content-Length and body. Everything else a server sends is a
 * reply (`command/reply`, `api/response`), a disconnect notice, or the auth challenge.
 */
import { TollgateError } from '../../shared/errors.ts';
import { RatingErrors } from '../errors.ts';
import { parseHeaderBlock, type EslFrame } from './frames.ts';

export interface EslEvent {
  readonly name: string;
  /** Decoded headers of the event (`Unique-ID`, `variable_*`, `Caller-*`, ...). */
  readonly headers: Readonly<Record<string, string>>;
  /** The nested body (BACKGROUND_JOB result), when the event has one. */
  readonly body: string | undefined;
}

export type EslMessage =
  | { readonly kind: 'auth-request' }
  | { readonly kind: 'command-reply'; readonly reply: string; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'api-response'; readonly body: string }
  | { readonly kind: 'event'; readonly event: EslEvent }
  | { readonly kind: 'disconnect-notice'; readonly body: string }
  | { readonly kind: 'other'; readonly contentType: string; readonly frame: EslFrame };

export function classifyFrame(frame: EslFrame): EslMessage {
  const ct = frame.headers['Content-Type'] ?? '';
  switch (ct) {
    case 'auth/request':
      return { kind: 'auth-request' };
    case 'command/reply':
      return { kind: 'command-reply', reply: frame.headers['Reply-Text'] ?? '', headers: frame.headers };
    case 'api/response':
      return { kind: 'api-response', body: frame.body?.toString('utf8') ?? '' };
    case 'text/event-plain':
      return { kind: 'event', event: parseEventPlain(frame.body ?? Buffer.alloc(0)) };
    case 'text/disconnect-notice':
      return { kind: 'disconnect-notice', body: frame.body?.toString('utf8') ?? '' };
    default:
      return { kind: 'other', contentType: ct, frame };
  }
}

export function parseEventPlain(body: Buffer): EslEvent {
  const text = body.toString('utf8');
  let end = text.indexOf('\n\n');
  const headerText = end === -1 ? text : text.slice(0, end);
  const headers = parseHeaderBlock(headerText, true);
  const name = headers['Event-Name'];
  if (name === undefined) {
    throw new TollgateError(RatingErrors.eslProtocol, 'ESL protocol error: text/event-plain body without Event-Name',
      { sample: text.slice(0, 64) });
  }
  let nested: string | undefined;
  const cl = headers['Content-Length'];
  if (cl !== undefined && end !== -1) {
    end += 2;
    // Content-Length counts bytes; slice on bytes so multi-byte characters in the nested body are not miscounted.
    const rest = Buffer.from(text.slice(end), 'utf8');
    const n = Number(cl);
    if (!Number.isInteger(n) || n < 0 || n > rest.length) {
      throw new TollgateError(RatingErrors.eslProtocol,
        `ESL protocol error: ${name} event says Content-Length ${cl} but carries ${rest.length} bytes of body`, { event: name });
    }
    nested = rest.subarray(0, n).toString('utf8');
  }
  return { name, headers, body: nested };
}
