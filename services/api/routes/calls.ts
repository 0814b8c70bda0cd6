/**
 * Calls over the analyzer's tables: search, one call with its correlated legs, its messages (every leg), the SIP
 * ladder (SVG, or HTML with the message text on click) and a PCAP rebuilt from the captured messages.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { effectiveTenant, principalOf } from '../auth.ts';
import { ApiProblem } from '../contract.ts';
import { callItem, callItemSchema, callPath, CALL_CSV_COLUMNS, messageItem, messageItemSchema } from '../calls/items.ts';
import { buildPcap } from '../calls/pcap.ts';
import { CALL_STATES, callKey, callMessages, callWithLegs, MAX_CALL_MESSAGES, searchCallsStatement, type CallRowOut, type MessageRowOut } from '../calls/queries.ts';
import { renderLadderPage } from '../ladder/page.ts';
import { hostKey, messageLabel, renderLadder, type LadderMessage } from '../ladder/render.ts';
import { respondList } from '../list.ts';
import { shouldMask } from '../mask.ts';
import { baseUrl, chToUs, timeRange, type ListQuery, type TimeRange } from '../paging.ts';
import { callIdParam, ipParam, listRouteSchema, nodeParam, refuseNumberFilters, userParam, type DataRouteOptions } from './common.ts';

interface SearchQuery extends ListQuery {
  tenant?: string;
  call_id?: string;
  caller?: string;
  caller_prefix?: string;
  callee?: string;
  callee_prefix?: string;
  src_ip?: string;
  dst_ip?: string;
  status?: number;
  state?: string;
  node?: string;
}

interface CallParams {
  callId: string;
}

interface WindowQuery {
  from?: string;
  to?: string;
  format?: 'svg' | 'html';
}

const callIdParams = {
  type: 'object',
  required: ['callId'],
  properties: { callId: { ...callIdParam, description: 'SIP Call-ID (URL-encoded)' } },
} as const;

const windowQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', description: 'Look for messages from here (RFC 3339). Default: 10 min before the call, or 24 h before `to` for a call not yet final.' },
    to: { type: 'string', description: 'Look for messages until here (RFC 3339). Default: 10 min after the call ended, or now.' },
  },
} as const;

const PAD_US = 600_000_000;

interface ResolvedCall {
  readonly rows: CallRowOut[];
  readonly ids: string[];
  readonly messages: MessageRowOut[];
  readonly truncated: boolean;
}

export const callRoutes: FastifyPluginAsync<DataRouteOptions> = async (app, opts) => {
  const { store } = opts;

  /** The call's dialogs and legs, and every captured message of all of them; 404 when nothing was captured. */
  async function resolveCall(req: FastifyRequest, callId: string, q: WindowQuery, withRaw = true): Promise<ResolvedCall> {
    const tenant = effectiveTenant(principalOf(req), undefined);
    const rows = await callWithLegs(store, callId, tenant);
    const ids = [callId, ...new Set(rows.map((r) => r.call_id).filter((c) => c !== callId))];
    let range: TimeRange;
    if (q.from !== undefined || q.to !== undefined || rows.length === 0) {
      range = timeRange(q, opts.maxRangeMs);
    } else {
      const lo = Math.min(...rows.map((r) => chToUs(r.setup_ts)));
      const hi = Math.max(...rows.map((r) => chToUs(r.end_ts)));
      range = { fromUs: lo - PAD_US, toUs: hi + PAD_US };
    }
    const messages = await callMessages(store, ids, tenant, range, withRaw);
    if (rows.length === 0 && messages.length === 0) {
      throw new ApiProblem(404, 'call-not-found', 'No such call', `no call or message with Call-ID ${JSON.stringify(callId.slice(0, 200))} is stored${rows.length === 0 ? ' in the searched range' : ''}`, 'callId');
    }
    for (const m of messages) if (!ids.includes(m.call_id)) ids.push(m.call_id);
    const truncated = messages.length > MAX_CALL_MESSAGES;
    return { rows, ids, messages: truncated ? messages.slice(0, MAX_CALL_MESSAGES) : messages, truncated };
  }

  app.get<{ Querystring: SearchQuery }>('/v1/calls', {
    config: { scope: 'calls.read' },
    schema: listRouteSchema({
      tag: 'calls',
      summary: 'Search calls',
      description: 'Calls (one per INVITE dialog) set up in `from`..`to`, newest first. Filters combine with AND.',
      filters: {
        call_id: { ...callIdParam, description: 'Exact Call-ID' },
        caller: { ...userParam, description: 'Caller (From) user part, exact' },
        caller_prefix: { ...userParam, description: 'Caller user part starts with this' },
        callee: { ...userParam, description: 'Callee (Request-URI or To) user part, exact' },
        callee_prefix: { ...userParam, description: 'Callee user part starts with this' },
        src_ip: { ...ipParam, description: 'Address the INVITE came from' },
        dst_ip: { ...ipParam, description: 'Address the INVITE went to' },
        status: { type: 'integer', minimum: 100, maximum: 699, description: 'Final SIP status' },
        state: { type: 'string', enum: [...CALL_STATES] },
        node: nodeParam,
      },
      item: callItemSchema,
    }),
  }, async (req, reply) => {
    const q = req.query;
    const p = principalOf(req);
    const mask = shouldMask(opts.maskNumbers, p);
    refuseNumberFilters(mask, q as Record<string, unknown>, ['caller', 'caller_prefix', 'callee', 'callee_prefix']);
    const filters = {
      tenant: effectiveTenant(p, q.tenant), callId: q.call_id, caller: q.caller, callerPrefix: q.caller_prefix, callee: q.callee,
      calleePrefix: q.callee_prefix, srcIp: q.src_ip, dstIp: q.dst_ip, status: q.status, state: q.state, node: q.node,
    };
    const range = timeRange(q, opts.maxRangeMs);
    const selective = [q.call_id, q.caller, q.callee, q.src_ip, q.dst_ip].some((v) => v !== undefined);
    return respondList(req, reply, {
      query: q, filters, range, publicUrl: opts.publicUrl, arity: 3,
      store, statement: (after, limit, window) => searchCallsStatement(filters, window ?? range, after, limit),
      // Probing pays off for broad searches; a Call-ID, number or address is found through its bloom filter in one
      // pass over the range, where probing would cost up to four statements.
      ...(selective ? {} : { keyTimeUs: (key: Array<string | number>) => chToUs(String(key[0])) }),
      keyOf: callKey, toItem: (r) => callItem(r, mask), csvName: 'calls.csv', csvColumns: CALL_CSV_COLUMNS,
    });
  });

  app.get<{ Params: CallParams }>('/v1/calls/:callId', {
    config: { scope: 'calls.read' },
    schema: {
      tags: ['calls'],
      summary: 'One call with its correlated legs',
      description: 'The call (its first dialog) and every correlated leg: other dialogs of the Call-ID, calls naming it as A-leg, the A-leg it names and sibling legs.',
      params: callIdParams,
      response: {
        200: {
          type: 'object',
          required: ['call', 'legs'],
          properties: { call: callItemSchema, legs: { type: 'array', items: callItemSchema } },
        },
        404: { description: 'No call with this Call-ID (or not one of the key\'s tenant)', content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } },
      },
    },
  }, async (req) => {
    const callId = req.params.callId;
    const mask = shouldMask(opts.maskNumbers, req.principal);
    const rows = await callWithLegs(store, callId, effectiveTenant(principalOf(req), undefined));
    const own = rows.filter((r) => r.call_id === callId);
    if (own.length === 0) throw new ApiProblem(404, 'call-not-found', 'No such call', `no call with Call-ID ${JSON.stringify(callId.slice(0, 200))} is stored (calls appear once final)`, 'callId');
    const [call, ...rest] = [...own, ...rows.filter((r) => r.call_id !== callId)];
    return { call: callItem(call!, mask), legs: rest.map((r) => callItem(r, mask)) };
  });

  app.get<{ Params: CallParams; Querystring: WindowQuery }>('/v1/calls/:callId/messages', {
    config: { scope: 'calls.read' },
    schema: {
      tags: ['calls'],
      summary: 'Every captured SIP message of the call and its legs',
      params: callIdParams,
      querystring: windowQuery,
      response: {
        200: {
          type: 'object',
          required: ['call_id', 'legs', 'messages', 'truncated'],
          properties: {
            call_id: { type: 'string' },
            legs: { type: 'array', items: { type: 'string' }, description: 'Call-IDs in the flow; `leg` of a message indexes this' },
            truncated: { type: 'boolean', description: `true when more than ${MAX_CALL_MESSAGES} messages were captured (the first are returned)` },
            messages: { type: 'array', items: messageItemSchema },
          },
        },
      },
    },
  }, async (req) => {
    const { callId } = req.params;
    const mask = shouldMask(opts.maskNumbers, req.principal);
    const c = await resolveCall(req, callId, req.query);
    return {
      call_id: callId,
      legs: c.ids,
      truncated: c.truncated,
      messages: c.messages.map((m, i) => messageItem(m, i, c.ids.indexOf(m.call_id), mask)),
    };
  });

  app.get<{ Params: CallParams; Querystring: WindowQuery }>('/v1/calls/:callId/ladder.svg', {
    config: { scope: 'calls.read' },
    schema: {
      tags: ['calls'],
      summary: 'SIP ladder diagram of the call and its legs',
      description: 'One column per host (ip:port and capture node), one arrow per message in capture order. `format=html` gives a page with the message text beside the flow on click; its URL is stable and shareable (`#m<N>` selects a message).',
      params: callIdParams,
      querystring: { ...windowQuery, properties: { ...windowQuery.properties, format: { type: 'string', enum: ['svg', 'html'], default: 'svg' } } },
      response: {
        200: {
          description: 'The ladder',
          content: { 'image/svg+xml': { schema: { type: 'string' } }, 'text/html': { schema: { type: 'string' } } },
        },
      },
    },
  }, async (req, reply) => {
    const { callId } = req.params;
    const mask = shouldMask(opts.maskNumbers, req.principal);
    const c = await resolveCall(req, callId, req.query);
    const items = c.messages.map((m, i) => messageItem(m, i, c.ids.indexOf(m.call_id), mask));
    const ladder: LadderMessage[] = items.map((m) => ({
      tsUs: m.time_us, callId: m.call_id, kind: m.kind, method: m.method, status: m.status ?? 0, reason: m.reason, cseq: m.cseq,
      srcIp: m.source.ip, srcPort: m.source.port, dstIp: m.destination.ip, dstPort: m.destination.port, transport: m.transport, node: m.node,
    }));
    const title = `Call ${callId}${c.ids.length > 1 ? ` (+${c.ids.length - 1} leg${c.ids.length > 2 ? 's' : ''})` : ''}${c.truncated ? ` — first ${MAX_CALL_MESSAGES} messages` : ''}`;
    const svg = renderLadder(ladder, { title });
    reply.header('cache-control', 'private, max-age=60');
    if (req.query.format === 'html') {
      const path = `${callPath(callId)}/ladder.svg`;
      const html = renderLadderPage({
        title, svg, svgUrl: path, shareUrl: `${baseUrl(req, opts.publicUrl)}${path}?format=html`,
        messages: items.map((m, i) => ({
          summary: `${messageLabel(ladder[i]!)} ${hostKey(m.source.ip, m.source.port)} → ${hostKey(m.destination.ip, m.destination.port)} ${m.time}`,
          text: m.raw,
        })),
      });
      return reply.type('text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:")
        .send(html);
    }
    return reply.type('image/svg+xml; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(svg);
  });

  app.get<{ Params: CallParams; Querystring: WindowQuery }>('/v1/calls/:callId/pcap', {
    config: { scope: 'calls.read' },
    schema: {
      tags: ['calls'],
      summary: 'PCAP of the call and its legs',
      description: 'libpcap file, one Ethernet/IP/UDP (or TCP) frame per captured message, headers rebuilt from the HEP addresses; opens in Wireshark, tshark and sngrep.',
      params: callIdParams,
      querystring: windowQuery,
      response: { 200: { description: 'libpcap capture', content: { 'application/vnd.tcpdump.pcap': { schema: { type: 'string', format: 'binary' } } } } },
    },
  }, async (req, reply) => sendPcap(req, reply, await resolveCall(req, req.params.callId, req.query), shouldMask(opts.maskNumbers, req.principal)));
};

function sendPcap(req: FastifyRequest<{ Params: CallParams }>, reply: FastifyReply, c: ResolvedCall, mask: boolean): FastifyReply {
  const pcap = buildPcap(c.messages.map((m) => {
    const item = messageItem(m, 0, 0, mask);
    return { tsUs: item.time_us, srcIp: m.src_ip, srcPort: m.src_port, dstIp: m.dst_ip, dstPort: m.dst_port, transport: m.transport, payload: Buffer.from(item.raw, 'utf8') };
  }));
  const safe = req.params.callId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return reply.type('application/vnd.tcpdump.pcap').header('content-disposition', `attachment; filename="call-${safe}.pcap"`).send(pcap);
}
