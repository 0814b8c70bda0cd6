/** The ESL client against the event-socket emulator: handshake, commands, events, reconnect, isolation of nodes. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { EslClient, type EslClientListener } from '../../services/rating/esl/client.ts';
import type { EslEvent } from '../../services/rating/esl/events.ts';
import { startEslEmulator, type EslEmulator } from '../support/esl-emulator.ts';
import { waitFor } from '../support/cgrates.ts';

const log = pino({ level: 'silent' });

function recorder() {
  const events: { node: string; event: EslEvent }[] = [];
  const connects: { node: string; reconnect: boolean }[] = [];
  const drops: string[] = [];
  const listener: EslClientListener = {
    onEvent: (event, node) => events.push({ node, event }),
    onConnected: (node, reconnect) => connects.push({ node, reconnect }),
    onDisconnected: (node) => drops.push(node),
  };
  return { events, connects, drops, listener };
}

function client(fs: { port: number }, name: string, listener: EslClientListener, password = 'ClueCon'): EslClient {
  return new EslClient({
    endpoint: { name, host: '127.0.0.1', port: fs.port }, password,
    events: ['CHANNEL_PARK', 'CHANNEL_ANSWER', 'CHANNEL_HANGUP_COMPLETE', 'BACKGROUND_JOB', 'HEARTBEAT'],
    commandTimeoutMs: 2_000, connectTimeoutMs: 1_000, idleTimeoutMs: 60_000, backoffInitialMs: 50, backoffMaxMs: 400, log,
  }, listener);
}

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

describe('ESL client against the event-socket emulator', () => {
  it('authenticates, subscribes, receives events, runs api, bgapi and sendmsg', async () => {
    const fs = await startEslEmulator();
    const r = recorder();
    const c = client(fs, 'fs1', r.listener);
    cleanup.push(() => c.close(), () => fs.close());
    await c.start();
    await waitFor(() => c.connected, 3_000, 'connection');
    assert.deepEqual(r.connects, [{ node: 'fs1', reconnect: false }]);
    assert.deepEqual(fs.commands.map((x) => x.line), ['auth ClueCon', 'event plain CHANNEL_PARK CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB HEARTBEAT']);

    const uuid = fs.originate({ account: '1001', destination: '441632960123', reqtype: '*prepaid', vars: { cgr_note: 'a b%c' } });
    await waitFor(() => r.events.length === 1, 2_000, 'CHANNEL_PARK');
    const park = r.events[0]!.event;
    assert.equal(park.name, 'CHANNEL_PARK');
    assert.equal(park.headers['Unique-ID'], uuid);
    assert.equal(park.headers['variable_cgr_reqtype'], '*prepaid');
    assert.equal(park.headers['variable_cgr_note'], 'a b%c');

    assert.equal(await c.api(`uuid_setvar ${uuid} execute_on_answer sched_hangup +1 alloted_timeout`), '+OK\n');
    assert.equal(await c.api('uuid_setvar 00000000-0000-0000-0000-000000000000 x y'), '-ERR No such channel!\n');
    // Pipelined: replies come back in order to the right callers.
    const [a, b] = await Promise.all([c.api(`uuid_getvar ${uuid} cgr_note`), c.api('status')]);
    assert.equal(a, 'a b%c\n');
    assert.match(b, /is ready/);
    assert.equal(await c.bgapi(`uuid_transfer ${uuid} 441632960123 XML default`), '+OK\n');
    await waitFor(() => r.events.some((e) => e.event.name === 'CHANNEL_ANSWER'), 2_000, 'CHANNEL_ANSWER');
    // execute_on_answer armed a 1 s cut-off.
    await waitFor(() => r.events.some((e) => e.event.name === 'CHANNEL_HANGUP_COMPLETE'), 3_000, 'hangup');
    const hup = r.events.find((e) => e.event.name === 'CHANNEL_HANGUP_COMPLETE')!.event;
    assert.equal(hup.headers['variable_hangup_cause'], 'ALLOTTED_TIMEOUT');
    assert.equal(hup.headers['variable_billsec'], '1');

    const u2 = fs.originate({ account: '1003', destination: '1555', reqtype: '*postpaid' });
    await waitFor(() => r.events.filter((e) => e.event.name === 'CHANNEL_PARK').length === 2, 2_000, 'second park');
    assert.equal(await c.sendmsg(u2, { 'call-command': 'hangup', 'hangup-cause': 'CALL_REJECTED' }), '+OK');
    assert.equal(fs.channels.get(u2)!.hangupCause, 'CALL_REJECTED');
    const shown = JSON.parse(await c.api('show channels as json')) as { row_count: number };
    assert.equal(shown.row_count, 0);
  });

  it('keeps retrying a wrong password and a closed port, then connects when they are right', async () => {
    const fs = await startEslEmulator({ password: 'secret' });
    const r = recorder();
    const bad = client(fs, 'fs-bad', r.listener, 'ClueCon');
    cleanup.push(() => bad.close(), () => fs.close());
    await bad.start();
    await waitFor(() => fs.commands.filter((x) => x.line === 'auth ClueCon').length >= 3, 5_000, 'three refused auths');
    assert.equal(bad.connected, false);
    assert.match(bad.health().detail ?? '', /auth refused/);
    await bad.close();

    // A port nobody listens on, then a server appears there.
    const probe = net.createServer();
    await new Promise<void>((res) => probe.listen(0, '127.0.0.1', () => res()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((res) => probe.close(() => res()));
    const late = client({ port }, 'fs-late', r.listener);
    cleanup.push(() => late.close());
    await late.start();
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(late.connected, false);
    assert.equal(late.health().state, 'degraded');
    const fsLate = await startEslEmulator({ port });
    cleanup.push(() => fsLate.close());
    await waitFor(() => late.connected, 3_000, 'connection once the switch is up');
  });

  it('reconnects after a drop, fails pending commands fast, and one node away leaves the other untouched', async () => {
    const fs1 = await startEslEmulator({ switchname: 'fs1' });
    const fs2 = await startEslEmulator({ switchname: 'fs2' });
    const r = recorder();
    const c1 = client(fs1, 'fs1', r.listener);
    const c2 = client(fs2, 'fs2', r.listener);
    cleanup.push(() => c1.close(), () => c2.close(), () => fs1.close(), () => fs2.close());
    await c1.start();
    await c2.start();
    await waitFor(() => c1.connected && c2.connected, 3_000, 'both connected');
    const pause = fs1.pause(600);
    await waitFor(() => !c1.connected, 2_000, 'fs1 lost');
    await assert.rejects(c1.api('status'), (err: Error & { code?: string }) => err.code === 'TG_ESL_DISCONNECTED');
    // fs2 keeps working while fs1 is away.
    const u = fs2.originate({ account: '1003', destination: '1555' });
    await waitFor(() => r.events.some((e) => e.node === 'fs2' && e.event.headers['Unique-ID'] === u), 2_000, 'fs2 event');
    assert.match(await c2.api('status'), /ready/);
    await pause;
    await waitFor(() => c1.connected, 5_000, 'fs1 back');
    assert.deepEqual(r.connects.filter((x) => x.node === 'fs1').map((x) => x.reconnect), [false, true]);
    assert.deepEqual(r.drops, ['fs1']);
  });
});
