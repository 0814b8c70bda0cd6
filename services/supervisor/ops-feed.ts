/**
 * What the supervisor feeds the process serving `/healthz` and `/metrics` (the API): every child's health as one
 * component each, and every other process's metrics (JSON form of prom-client, aggregated by the asker).
 */
import type { Registry } from 'prom-client';
import { combineReports, type HealthReport } from '../shared/lifecycle.ts';
import type { FromChild } from '../shared/supervised.ts';
import type { SupervisedChild } from './child.ts';

const METRICS_TIMEOUT_MS = 2_000;

export function peerReport(children: readonly SupervisedChild[]): HealthReport {
  return combineReports([{ status: 'ok', components: Object.fromEntries(children.map((c) => [c.name, c.health()])) }]);
}

let nextId = 0;

/** Metrics of the supervisor and of every child but `asker`; a child that does not answer in time is left out. */
export async function clusterMetricsFor(asker: SupervisedChild, children: readonly SupervisedChild[], registry: Registry): Promise<unknown[]> {
  const own = await registry.getMetricsAsJSON();
  const others = children.filter((c) => c !== asker && c.state === 'running');
  const answers = await Promise.all(others.map((c) => askMetrics(c)));
  return [own, ...answers.filter((a) => a !== undefined)];
}

function askMetrics(child: SupervisedChild): Promise<unknown> {
  const id = ++nextId;
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), METRICS_TIMEOUT_MS);
    const onMessage = (msg: FromChild): void => {
      if (msg.tg === 'metrics' && msg.id === id) done(msg.metrics);
    };
    const done = (value: unknown): void => {
      clearTimeout(timer);
      child.offMessage(onMessage);
      resolve(value);
    };
    child.onMessage(onMessage);
    if (!child.send({ tg: 'metrics?', id })) done(undefined);
  });
}
