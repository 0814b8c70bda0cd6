import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { healthReport, type Component } from '../../../services/shared/lifecycle.ts';
import { Supervisor } from '../../../services/shared/supervisor.ts';

function fake(name: string, events: string[], opts: { closeMs?: number; failStart?: boolean } = {}): Component {
  return {
    name,
    async start() {
      if (opts.failStart) throw new Error(`${name} cannot start`);
      events.push(`start ${name}`);
    },
    async close() {
      await new Promise((r) => setTimeout(r, opts.closeMs ?? 0));
      events.push(`close ${name}`);
    },
    async destroy() {
      events.push(`destroy ${name}`);
    },
    health: () => ({ state: 'ok' }),
  };
}

const silent = pino({ level: 'silent' });

describe('Supervisor', () => {
  it('starts in order and closes in reverse, once', async () => {
    const events: string[] = [];
    const sup = new Supervisor(silent).add(fake('a', events), fake('b', events), fake('c', events));
    await sup.start();
    await Promise.all([sup.stop(1_000), sup.stop(1_000)]);
    assert.deepEqual(events, ['start a', 'start b', 'start c', 'close c', 'close b', 'close a']);
  });

  it('destroys a component that does not drain before the deadline', async () => {
    const events: string[] = [];
    // The sink is slow too: the deadline can leave it a sliver of time (timers and clocks round differently), and a
    // sink that drains in that sliver is rightly closed, not destroyed.
    const sup = new Supervisor(silent).add(fake('sink', events, { closeMs: 500 }), fake('slow', events, { closeMs: 500 }));
    await sup.start();
    await sup.stop(50);
    assert.deepEqual(events.slice(0, 3), ['start sink', 'start slow', 'destroy slow']);
    assert.ok(events.includes('destroy sink'), 'components after the deadline are destroyed too');
  });

  it('stops what started when a later component fails to start', async () => {
    const events: string[] = [];
    const sup = new Supervisor(silent).add(fake('a', events), fake('b', events, { failStart: true }));
    await assert.rejects(sup.start(), /b cannot start/);
    assert.deepEqual(events, ['start a', 'close a']);
  });

  it('health is the worst component state', () => {
    const mk = (state: 'ok' | 'degraded' | 'down'): Component => ({ ...fake('x', []), name: state, health: () => ({ state }) });
    assert.equal(healthReport([mk('ok'), mk('degraded')]).status, 'degraded');
    assert.equal(healthReport([mk('ok'), mk('down'), mk('degraded')]).status, 'down');
    assert.equal(healthReport([mk('ok')]).status, 'ok');
  });
});
