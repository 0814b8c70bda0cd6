import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackContext } from '../../scripts/stack/part.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The stack context integration tests share with `npm run stack`, so a stack already up is reused, not doubled. */
export function stackContext(): StackContext {
  const cacheRoot = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  return {
    runDir: join(repoRoot, '.run', 'stack'),
    cacheDir: join(cacheRoot, 'tollgate'),
    progress: (line) => process.stderr.write(`[stack] ${line}\n`),
  };
}
