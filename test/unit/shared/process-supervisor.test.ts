import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../services/settings.ts';
import { tagLine } from '../../../services/supervisor/log-lines.ts';
import { defaultAnalyzers, defaultCollectors, planProcesses, SERVICE_PROCESSES, stopGroups } from '../../../services/supervisor/processes.ts';

describe('process supervisor plan', () => {
  it('runs two collectors and one process of every other service by default on two cores, the configured counts otherwise', () => {
    const plan = planProcesses(SERVICE_PROCESSES, loadConfig({}), {}, 2);
    assert.deepEqual(plan.map((s) => s.name), ['collector-1', 'collector-2', 'analyzer-1', 'guard-1', 'api-1']);
    const scaled = planProcesses(SERVICE_PROCESSES, loadConfig({ COLLECTOR_PROCESSES: '3', ANALYZER_PROCESSES: '2' }), {}, 2);
    assert.deepEqual(scaled.map((s) => s.name), ['collector-1', 'collector-2', 'collector-3', 'analyzer-1', 'analyzer-2', 'guard-1', 'api-1']);
    // The rating service runs only when there are switches to rate.
    const rated = planProcesses(SERVICE_PROCESSES, loadConfig({}), { FREESWITCH_ESL: 'fs1=127.0.0.1:8021' }, 2);
    assert.deepEqual(rated.map((s) => s.name), ['collector-1', 'collector-2', 'analyzer-1', 'guard-1', 'rating-1', 'api-1']);
    assert.equal(defaultCollectors(16), 4);
    assert.equal(defaultCollectors(2), 2);
    assert.equal(defaultAnalyzers(16, 6), 6);
    assert.equal(defaultAnalyzers(1, 6), 1);
  });

  it('stops intake first and the API last; a disabled service is not run', () => {
    const plan = planProcesses(SERVICE_PROCESSES, loadConfig({}), {}, 2);
    assert.deepEqual(stopGroups(plan).map((g) => g.map((s) => s.name)), [['collector-1', 'collector-2'], ['analyzer-1'], ['guard-1'], ['api-1']]);
    const rated = planProcesses(SERVICE_PROCESSES, loadConfig({}), { FREESWITCH_ESL: 'fs1=127.0.0.1:8021' }, 2);
    assert.deepEqual(stopGroups(rated).map((g) => g.map((s) => s.name)), [['collector-1', 'collector-2'], ['analyzer-1', 'rating-1'], ['guard-1'], ['api-1']]);
  });

  it('tags JSON lines with a field and other lines with a prefix', () => {
    assert.equal(tagLine('{"level":30,"msg":"x"}', 'collector-1'), '{"process":"collector-1","level":30,"msg":"x"}');
    assert.deepEqual(JSON.parse(tagLine('{}', 'api-1')), { process: 'api-1' });
    assert.equal(tagLine('    at foo (bar.ts:1)', 'analyzer-2'), 'analyzer-2   |     at foo (bar.ts:1)');
  });
});
