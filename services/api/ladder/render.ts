/**
 * The SIP ladder (call flow) diagram, HOMER style, as a pure function: messages in capture order → SVG text.
 * One column per host (ip:port, with the capture node's name where one host is clearly that node), one arrow per
 * message with its method or status, capture time and delta; requests, provisional, success, redirect and error
 * responses are drawn in distinct colours (errors bold), responses dashed, and every leg (Call-ID) is tagged with
 * its own letter and colour so correlated legs read as one flow.
 */

export interface LadderMessage {
  readonly tsUs: number;
  readonly callId: string;
  readonly kind: 'request' | 'response';
  readonly method: string;
  readonly status: number;
  readonly reason: string;
  readonly cseq: number;
  readonly srcIp: string;
  readonly srcPort: number;
  readonly dstIp: string;
  readonly dstPort: number;
  readonly transport: string;
  readonly node: string;
}

export interface LadderHost {
  readonly key: string;
  readonly alias: string | undefined;
  readonly x: number;
}

export interface LadderLayout {
  readonly hosts: LadderHost[];
  readonly legs: string[];
  readonly width: number;
  readonly height: number;
}

const TIME_COL = 190;
const COL_W = 230;
const HEAD_H = 74;
const ROW_H = 30;
const LEGEND_ROW = 20;
const LEG_COLOURS = ['#0969da', '#8250df', '#bf3989', '#1b7c83', '#9a6700', '#57606a'];

export function hostKey(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Message class: `request`, `r1xx`, `r2xx`, `r3xx`, `r4xx` (4xx-6xx are errors). */
export function messageClass(m: Pick<LadderMessage, 'kind' | 'status'>): 'request' | 'r1xx' | 'r2xx' | 'r3xx' | 'error' {
  if (m.kind === 'request') return 'request';
  if (m.status < 200) return 'r1xx';
  if (m.status < 300) return 'r2xx';
  if (m.status < 400) return 'r3xx';
  return 'error';
}

export function messageLabel(m: Pick<LadderMessage, 'kind' | 'status' | 'reason' | 'method'>): string {
  return m.kind === 'request' ? m.method : `${m.status} ${m.reason}`.trim();
}

/**
 * A host gets a node's name when it takes part in most of what that node captured (a proxy capturing its own
 * traffic is on one end of every message it sees); anything less certain leaves the host unnamed.
 */
export function hostAliases(messages: readonly LadderMessage[]): Map<string, string> {
  const perNode = new Map<string, { total: number; hosts: Map<string, number> }>();
  for (const m of messages) {
    if (m.node === '') continue;
    const e = perNode.get(m.node) ?? { total: 0, hosts: new Map<string, number>() };
    e.total++;
    for (const h of new Set([hostKey(m.srcIp, m.srcPort), hostKey(m.dstIp, m.dstPort)])) e.hosts.set(h, (e.hosts.get(h) ?? 0) + 1);
    perNode.set(m.node, e);
  }
  const names = new Map<string, string[]>();
  for (const [node, e] of perNode) {
    const ranked = [...e.hosts].sort((a, b) => b[1] - a[1]);
    const [best, second] = ranked;
    if (best !== undefined && best[1] === e.total && (second === undefined || second[1] < e.total)) {
      names.set(best[0], [...(names.get(best[0]) ?? []), node]);
    }
  }
  return new Map([...names].map(([h, ns]) => [h, ns.sort().join(', ')]));
}

export function layout(messages: readonly LadderMessage[], aliases = hostAliases(messages)): LadderLayout {
  const order: string[] = [];
  const legs: string[] = [];
  for (const m of messages) {
    for (const h of [hostKey(m.srcIp, m.srcPort), hostKey(m.dstIp, m.dstPort)]) if (!order.includes(h)) order.push(h);
    if (!legs.includes(m.callId)) legs.push(m.callId);
  }
  const hosts = order.map((key, i) => ({ key, alias: aliases.get(key), x: TIME_COL + COL_W / 2 + i * COL_W }));
  return {
    hosts,
    legs,
    width: TIME_COL + Math.max(1, hosts.length) * COL_W + 40,
    height: HEAD_H + 24 + messages.length * ROW_H + 30 + legs.length * LEGEND_ROW,
  };
}

function timeOfDay(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  return `${d.toISOString().slice(11, 23)}`;
}

export function formatDelta(us: number): string {
  if (us < 1000) return `+${us} µs`;
  if (us < 1_000_000) return `+${(us / 1000).toFixed(1)} ms`;
  return `+${(us / 1_000_000).toFixed(3)} s`;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

const STYLE = `
  text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; fill: #1f2328; }
  .host rect { fill: #f6f8fa; stroke: #57606a; }
  .host .addr { font-weight: 600; }
  .host .alias { fill: #57606a; font-size: 11px; }
  .lifeline { stroke: #8c959f; stroke-dasharray: 4 4; }
  .time { fill: #57606a; font-size: 11px; }
  .delta { fill: #8c959f; font-size: 10px; }
  .msg line, .msg path { stroke-width: 1.6; fill: none; }
  .msg.request line, .msg.request path { stroke: #0969da; }
  .msg.request text.label { fill: #0969da; }
  .msg.r1xx line, .msg.r1xx path { stroke: #6e7781; stroke-dasharray: 6 3; }
  .msg.r1xx text.label { fill: #57606a; }
  .msg.r2xx line, .msg.r2xx path { stroke: #1a7f37; stroke-dasharray: 6 3; }
  .msg.r2xx text.label { fill: #1a7f37; }
  .msg.r3xx line, .msg.r3xx path { stroke: #9a6700; stroke-dasharray: 6 3; }
  .msg.r3xx text.label { fill: #9a6700; }
  .msg.error line, .msg.error path { stroke: #cf222e; stroke-dasharray: 6 3; stroke-width: 2.2; }
  .msg.error text.label { fill: #cf222e; font-weight: 700; }
  .msg:hover text.label, .msg.selected text.label { text-decoration: underline; }
  .msg.selected line, .msg.selected path { stroke-width: 3; }
  .msg { cursor: pointer; outline: none; }
  .msg rect.row { fill: transparent; }
  .msg:hover rect.row { fill: #f6f8fa; }
  .msg.selected rect.row { fill: #fff8c5; }
  .leg { font-size: 10px; font-weight: 700; fill: #ffffff; }
`;

/** The ladder as a standalone SVG document (also embedded as is in the HTML view). */
export function renderLadder(messages: readonly LadderMessage[], opts: { title?: string; aliases?: Map<string, string> } = {}): string {
  const lay = layout(messages, opts.aliases);
  const xOf = new Map(lay.hosts.map((h) => [h.key, h.x]));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="${lay.width}" height="${lay.height}" viewBox="0 0 ${lay.width} ${lay.height}" role="img" aria-label="${escapeXml(opts.title ?? 'SIP call flow')}">`);
  out.push(`<title>${escapeXml(opts.title ?? 'SIP call flow')}</title>`);
  out.push(`<style>${STYLE}</style>`);
  out.push('<defs>');
  for (const [cls, colour] of [['request', '#0969da'], ['r1xx', '#6e7781'], ['r2xx', '#1a7f37'], ['r3xx', '#9a6700'], ['error', '#cf222e']] as const) {
    out.push(`<marker id="arrow-${cls}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${colour}"/></marker>`);
  }
  out.push('</defs>');
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  const bottom = lay.height - 20 - lay.legs.length * LEGEND_ROW;
  out.push('<g class="hosts">');
  for (const h of lay.hosts) {
    out.push(`<g class="host" data-host="${escapeXml(h.key)}"><rect x="${h.x - COL_W / 2 + 8}" y="8" width="${COL_W - 16}" height="${h.alias ? 48 : 34}" rx="4"/>`
      + `<text class="addr" x="${h.x}" y="29" text-anchor="middle">${escapeXml(truncate(h.key, 30))}</text>`
      + (h.alias ? `<text class="alias" x="${h.x}" y="46" text-anchor="middle">${escapeXml(truncate(h.alias, 32))}</text>` : '')
      + `<line class="lifeline" x1="${h.x}" y1="${h.alias ? 56 : 42}" x2="${h.x}" y2="${bottom}"/></g>`);
  }
  out.push('</g>');
  out.push('<g class="messages">');
  let prev: number | undefined;
  messages.forEach((m, i) => {
    const y = HEAD_H + 24 + i * ROW_H;
    const cls = messageClass(m);
    const x1 = xOf.get(hostKey(m.srcIp, m.srcPort))!;
    const x2 = xOf.get(hostKey(m.dstIp, m.dstPort))!;
    const leg = lay.legs.indexOf(m.callId);
    const colour = LEG_COLOURS[leg % LEG_COLOURS.length]!;
    const label = messageLabel(m);
    const delta = prev === undefined ? '' : formatDelta(m.tsUs - prev);
    prev = m.tsUs;
    const tip = `${label} (CSeq ${m.cseq} ${m.method}) ${hostKey(m.srcIp, m.srcPort)} → ${hostKey(m.dstIp, m.dstPort)} ${m.transport.toUpperCase()} at ${new Date(Math.floor(m.tsUs / 1000)).toISOString()} · ${m.callId}`;
    const parts: string[] = [`<g class="msg ${cls}" id="m${i}" data-index="${i}" data-call-id="${escapeXml(m.callId)}" data-leg="${leg}" data-from="${escapeXml(hostKey(m.srcIp, m.srcPort))}" data-to="${escapeXml(hostKey(m.dstIp, m.dstPort))}" tabindex="0">`];
    parts.push(`<title>${escapeXml(tip)}</title>`);
    parts.push(`<rect class="row" x="0" y="${y - 15}" width="${lay.width}" height="${ROW_H}"/>`);
    parts.push(`<rect x="6" y="${y - 9}" width="16" height="14" rx="3" fill="${colour}"/><text class="leg" x="14" y="${y + 2}" text-anchor="middle">${String.fromCharCode(65 + (leg % 26))}</text>`);
    parts.push(`<text class="time" x="28" y="${y + 2}">${timeOfDay(m.tsUs)}</text>`);
    if (delta !== '') parts.push(`<text class="delta" x="${TIME_COL - 10}" y="${y + 2}" text-anchor="end">${escapeXml(delta)}</text>`);
    if (x1 === x2) {
      parts.push(`<path d="M${x1},${y - 6} h40 v12 h-38" marker-end="url(#arrow-${cls})"/>`);
      parts.push(`<text class="label" x="${x1 + 46}" y="${y + 4}">${escapeXml(truncate(label, 28))}</text>`);
    } else {
      const dir = x2 > x1 ? 1 : -1;
      parts.push(`<line x1="${x1 + dir * 2}" y1="${y}" x2="${x2 - dir * 2}" y2="${y}" marker-end="url(#arrow-${cls})"/>`);
      parts.push(`<text class="label" x="${(x1 + x2) / 2}" y="${y - 5}" text-anchor="middle">${escapeXml(truncate(label, Math.max(12, Math.floor(Math.abs(x2 - x1) / 7.5))))}</text>`);
    }
    parts.push('</g>');
    out.push(parts.join(''));
  });
  out.push('</g>');
  // Legend: which Call-ID each leg letter stands for and which capture nodes saw it.
  out.push('<g class="legend">');
  lay.legs.forEach((callId, leg) => {
    const y = bottom + 14 + leg * LEGEND_ROW;
    const nodes = [...new Set(messages.filter((m) => m.callId === callId && m.node !== '').map((m) => m.node))].sort();
    out.push(`<g class="leg-entry" data-leg="${leg}" data-call-id="${escapeXml(callId)}"><rect x="6" y="${y - 11}" width="16" height="14" rx="3" fill="${LEG_COLOURS[leg % LEG_COLOURS.length]}"/>`
      + `<text class="leg" x="14" y="${y}" text-anchor="middle">${String.fromCharCode(65 + (leg % 26))}</text>`
      + `<text x="28" y="${y}">${escapeXml(truncate(callId, 90))}${nodes.length > 0 ? ` · captured by ${escapeXml(nodes.join(', '))}` : ''}</text></g>`);
  });
  out.push('</g>');
  if (messages.length === 0) out.push(`<text x="20" y="${HEAD_H}">no messages</text>`);
  out.push('</svg>');
  return out.join('\n');
}
