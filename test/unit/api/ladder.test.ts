import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { renderLadderPage } from '../../../services/api/ladder/page.ts';
import { formatDelta, hostAliases, layout, messageClass, renderLadder, type LadderMessage } from '../../../services/api/ladder/render.ts';

function msg(i: number, o: Partial<LadderMessage> = {}): LadderMessage {
  return {
    tsUs: 1_796_000_000_000_000 + i * 1000, callId: 'c1', kind: 'request', method: 'INVITE', status: 0, reason: '', cseq: 1,
    srcIp: '192.0.2.10', srcPort: 5060, dstIp: '192.0.2.1', dstPort: 5060, transport: 'udp', node: 'n1', ...o,
  };
}

describe('SIP ladder renderer (pure)', () => {
  it('draws one column per host in order of appearance and one arrow per message in capture order', () => {
    const ms = [
      msg(0),
      msg(1, { srcIp: '192.0.2.1', srcPort: 5080, dstIp: '2001:db8::20', dstPort: 5060, callId: 'c2', node: 'n2' }),
      msg(2, { kind: 'response', status: 100, reason: 'Trying', srcIp: '192.0.2.1', dstIp: '192.0.2.10' }),
      msg(3, { kind: 'response', status: 486, reason: 'Busy Here', srcIp: '2001:db8::20', dstIp: '192.0.2.1', dstPort: 5080, callId: 'c2', node: 'n2' }),
      msg(4, { kind: 'response', status: 200, reason: 'OK', srcIp: '192.0.2.1', dstIp: '192.0.2.10' }),
      msg(5, { kind: 'response', status: 302, reason: 'Moved', srcIp: '192.0.2.1', dstIp: '192.0.2.10' }),
    ];
    const svg = renderLadder(ms);
    assert.deepEqual([...svg.matchAll(/data-host="([^"]+)"/g)].map((m) => m[1]), ['192.0.2.10:5060', '192.0.2.1:5060', '192.0.2.1:5080', '[2001:db8::20]:5060']);
    const arrows = [...svg.matchAll(/<g class="msg (\w+)" id="m(\d+)" data-index="\d+" data-call-id="([^"]+)" data-leg="(\d)"/g)];
    assert.deepEqual(arrows.map((a) => [a[1], Number(a[2]), a[3], Number(a[4])]), [
      ['request', 0, 'c1', 0], ['request', 1, 'c2', 1], ['r1xx', 2, 'c1', 0], ['error', 3, 'c2', 1], ['r2xx', 4, 'c1', 0], ['r3xx', 5, 'c1', 0],
    ]);
    assert.deepEqual([...svg.matchAll(/<text class="label"[^>]*>([^<]+)</g)].map((m) => m[1]), ['INVITE', 'INVITE', '100 Trying', '486 Busy Here', '200 OK', '302 Moved']);
    assert.deepEqual([...svg.matchAll(/<text class="delta"[^>]*>([^<]+)</g)].map((m) => m[1]), ['+1.0 ms', '+1.0 ms', '+1.0 ms', '+1.0 ms', '+1.0 ms']);
    // Arrows go from the source column to the destination column.
    const xs = layout(ms).hosts.map((h) => h.x);
    const line = /<g class="msg error" id="m3".*?<line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"/.exec(svg)!;
    assert.ok(Number(line[1]) > xs[3]! - 3 && Number(line[2]) < xs[2]! + 3 && Number(line[2]) > xs[2]! - 3);
  });

  it('names a host after the capture node only when that node saw it on every message', () => {
    const ms = [
      msg(0, { node: 'proxy' }),
      msg(1, { node: 'proxy', srcIp: '192.0.2.1', dstIp: '192.0.2.30' }),
      msg(2, { node: 'ua', srcIp: '192.0.2.40', dstIp: '192.0.2.41' }),
    ];
    assert.deepEqual([...hostAliases(ms)], [['192.0.2.1:5060', 'proxy']]);
    assert.match(renderLadder(ms), /<text class="alias"[^>]*>proxy<\/text>/);
  });

  it('stays readable at 100 messages: rows never overlap and the picture grows with the messages', () => {
    const ms = Array.from({ length: 100 }, (_, i) => msg(i, i % 2 ? { kind: 'response', status: 180, reason: 'Ringing', srcIp: '192.0.2.1', dstIp: '192.0.2.10' } : {}));
    const svg = renderLadder(ms);
    const ys = [...svg.matchAll(/<g class="msg[^>]*>.*?<line x1="[\d.]+" y1="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(ys.length, 100);
    for (let i = 1; i < ys.length; i++) assert.ok(ys[i]! - ys[i - 1]! >= 28, `row ${i} is ${ys[i]! - ys[i - 1]!}px below the last`);
    const h = Number(/height="(\d+)"/.exec(svg)![1]);
    assert.ok(h >= ys[99]! + 20);
    assert.match(svg, /font-size: 12px/);
  });

  it('escapes everything that comes from the wire (no markup injection in SVG or HTML)', () => {
    fc.assert(fc.property(fc.string(), fc.string(), fc.string(), (callId, reason, method) => {
      const ms = [msg(0, { callId, method, node: method }), msg(1, { callId, kind: 'response', status: 400, reason })];
      const svg = renderLadder(ms, { title: callId });
      // Only our own elements: every "<" starts a tag we emit.
      const tags = new Set([...svg.matchAll(/<\/?([a-zA-Z]+)/g)].map((m) => m[1]));
      for (const t of tags) assert.ok(['svg', 'title', 'style', 'defs', 'marker', 'path', 'rect', 'g', 'text', 'line'].includes(t!), t);
      const page = renderLadderPage({ title: callId, svg, messages: [{ summary: reason, text: `</script><script>alert(1)</script>${reason}` }], shareUrl: 'http://x/"<>', svgUrl: '/s' });
      assert.equal(page.match(/<script/g)!.length, 2);
      assert.equal(page.match(/<\/script>/g)!.length, 2);
    }), { numRuns: 200 });
  });

  it('classifies and formats', () => {
    assert.equal(messageClass({ kind: 'response', status: 603 }), 'error');
    assert.equal(formatDelta(999), '+999 µs');
    assert.equal(formatDelta(1_500), '+1.5 ms');
    assert.equal(formatDelta(2_000_000), '+2.000 s');
    assert.match(renderLadder([]), /no messages/);
  });
});
