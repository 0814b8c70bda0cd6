import { writeFileSync } from 'node:fs';
import { ApiEnv, KEYS } from './api-harness.ts';
const e = new ApiEnv();
try {
  await e.setup();
  const s = e.scenarios;
  const get = async (path: string, key: string = KEYS.admin) => {
    const r = await e.api.app.inject({ url: path, headers: { authorization: `Bearer ${key}` } });
    return { status: r.statusCode, type: r.headers['content-type'], body: r.headers['content-type']?.toString().includes('json') ? r.json() : r.body };
  };
  const from = new Date(e.t0 / 1000 - 60_000).toISOString();
  const out: Record<string, unknown> = {};
  out.calls = await get(`/v1/calls?from=${from}`);
  out.call = await get(`/v1/calls/${encodeURIComponent(s.aLeg)}`);
  out.messages = await get(`/v1/calls/${encodeURIComponent(s.aLeg)}/messages`);
  out.regs = await get(`/v1/registrations?from=${from}`);
  out.qos = await get(`/v1/qos?from=${from}`);
  out.stats = await get(`/v1/stats?from=${from}&interval=1h`);
  out.ladder = await get(`/v1/calls/${encodeURIComponent(s.aLeg)}/ladder.svg`);
  try { out.csv = await get(`/v1/calls?from=${from}&format=csv`); } catch (err) { console.error(err); }
  writeFileSync('/tmp/api-explore.json', JSON.stringify(out, null, 2));
  const svg = await get(`/v1/calls/${encodeURIComponent(s.aLeg)}/ladder.svg`);
  writeFileSync('/tmp/ladder.svg', String(svg.body));
  const pcap = await e.api.app.inject({ url: `/v1/calls/${encodeURIComponent(s.aLeg)}/pcap`, headers: { authorization: `Bearer ${KEYS.admin}` } });
  writeFileSync('/tmp/a.pcap', pcap.rawPayload);
  const pcap6 = await e.api.app.inject({ url: `/v1/calls/${encodeURIComponent(s.v6)}/pcap`, headers: { authorization: `Bearer ${KEYS.admin}` } });
  writeFileSync('/tmp/v6.pcap', pcap6.rawPayload);
} finally {
  await e.cleanup();
}
