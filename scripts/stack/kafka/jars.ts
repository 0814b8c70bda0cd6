import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackContext } from '../part.ts';
import { runToCompletion } from './proc.ts';
import { kafkaErrors, TollgateError } from './errors.ts';

const POM_PATH = fileURLToPath(new URL('./pom.xml', import.meta.url));
// A cold resolve downloads ~100 MB; a slow mirror must not look like a hang, but a dead one must end.
const RESOLVE_TIMEOUT_MS = 10 * 60_000;

export interface KafkaDistribution {
  readonly version: string;
  /** Folder with every runtime jar; the JVM class path is `<libDir>/*`. */
  readonly libDir: string;
}

export async function readPom(): Promise<{ text: string; version: string; hash: string }> {
  const text = await readFile(POM_PATH, 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(text)?.[1]?.trim();
  if (version === undefined) throw new Error(`${POM_PATH} has no <kafka.version> property`);
  return { text, version, hash: createHash('sha256').update(text).digest('hex') };
}

/**
 * Copies the broker jars into the cache once per pom content. The marker is written last and the folder is swapped
 * in by rename, so an interrupted download is redone instead of leaving a half class path that fails at run time.
 */
export async function ensureKafkaJars(ctx: StackContext): Promise<KafkaDistribution> {
  const pom = await readPom();
  const home = join(ctx.cacheDir, `kafka-${pom.version}`);
  const libDir = join(home, 'lib');
  const marker = join(home, 'complete.sha256');
  const current = await readFile(marker, 'utf8').catch(() => '');
  if (current.trim() === pom.hash) return { version: pom.version, libDir };

  ctx.progress(`kafka: resolving Apache Kafka ${pom.version} jars from Maven Central into ${libDir} (first run only)`);
  await mkdir(home, { recursive: true });
  // Maven runs on a copy so that nothing (target/, resolver state) lands in the repository checkout.
  const pomCopy = join(home, 'pom.xml');
  await writeFile(pomCopy, pom.text);
  const partial = join(home, `lib.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  const started = Date.now();
  const result = await runToCompletion(
    'mvn',
    ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${partial}`, '-DincludeScope=runtime', '-f', pomCopy],
    { timeoutMs: RESOLVE_TIMEOUT_MS, heartbeat: (s) => ctx.progress(`kafka: still resolving jars (${s} s)`) },
  );
  if (result.code !== 0) {
    await rm(partial, { recursive: true, force: true });
    throw new TollgateError(
      kafkaErrors.resolve,
      `maven could not resolve Kafka ${pom.version} (exit ${result.code ?? result.signal}): ${result.output.slice(-2000)}`,
      { version: pom.version },
    );
  }
  // Another run dir sharing this cache may have finished the same download meanwhile; keep its copy.
  if ((await readFile(marker, 'utf8').catch(() => '')).trim() === pom.hash) {
    await rm(partial, { recursive: true, force: true });
    return { version: pom.version, libDir };
  }
  await rm(libDir, { recursive: true, force: true });
  await rename(partial, libDir);
  await writeFile(marker, `${pom.hash}\n`);
  ctx.progress(`kafka: jars resolved in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { version: pom.version, libDir };
}
