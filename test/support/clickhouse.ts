import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClickhousePart } from '../../scripts/stack/clickhouse.ts';
import type { StackContext, StackPart } from '../../scripts/stack/part.ts';

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

/** A dev ClickHouse endpoint of its own (free port, temporary data), for tests that restart it or change its limits. */
export interface PrivateEndpoint {
  readonly url: string;
  readonly port: number;
  readonly part: StackPart;
  readonly ctx: StackContext;
  stop(): Promise<void>;
}

export async function startPrivateEndpoint(serverArgs: readonly string[] = []): Promise<PrivateEndpoint> {
  const port = await freeTcpPort();
  const ctx: StackContext = { ...stackContext(), runDir: mkdtempSync(join(tmpdir(), 'tollgate-ch-')) };
  const part = createClickhousePart({ port, serverArgs });
  await part.up(ctx);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    part,
    ctx,
    async stop() {
      await part.down(ctx);
      rmSync(ctx.runDir, { recursive: true, force: true });
    },
  };
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
