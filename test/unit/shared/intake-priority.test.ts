import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FALLBACK_NICE, planPriorities, reniceProcess } from '../../../services/supervisor/priority.ts';

/** Nice value of each thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('intake priority', () => {
  it('raises the collectors when permitted, else lowers everything else and the embedded stack', () => {
    assert.deepEqual(
      [planPriorities(-10, true).collector, planPriorities(-10, true).background, planPriorities(-10, true).stack],
      [-10, 5, undefined]);
    const fallback = planPriorities(-10, false);
    assert.deepEqual([fallback.collector, fallback.background, fallback.stack], [0, FALLBACK_NICE, FALLBACK_NICE]);
    assert.match(fallback.summary, /no permission.*CAP_SYS_NICE/);
    // A non-negative collector nice needs no permission.
    assert.deepEqual([planPriorities(0, false).collector, planPriorities(0, false).stack], [0, undefined]);
  });

  it('renices every thread of a running process', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
    // The child says when its script runs: by then Node has started its threads (a fixed 300 ms wait sometimes
    // looked before exec on a busy machine and found one thread).
    const child = spawn(process.execPath, ['-e', 'process.stdout.write("up\\n"); setTimeout(() => {}, 20000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await once(child.stdout!, 'data');
      const threads = threadNices(child.pid!);
      assert.ok(threads.length > 1, `node runs several threads (${threads.length})`);
      reniceProcess(child.pid!, 7);
      assert.deepEqual(threadNices(child.pid!), threads.map(() => 7));
    } finally {
      child.kill();
    }
  });
});
