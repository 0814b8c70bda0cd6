/**
 * The dev/CI engine (chdb-core from PyPI) and the production server image must be the same ClickHouse major.minor:
 * SQL in `sql/` and the services' queries are tested on the one and run on the other.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../../', import.meta.url);

function majorMinor(version: string): string {
  const m = /^(\d+)\.(\d+)/.exec(version);
  assert.ok(m, `not a ClickHouse version: ${version}`);
  return `${m[1]}.${m[2]}`;
}

test('docker-compose pins the ClickHouse server to the dev engine major.minor', () => {
  const requirements = readFileSync(new URL('scripts/stack/clickhouse/requirements.txt', root), 'utf8');
  const engine = /^chdb-core==(\S+)$/m.exec(requirements)?.[1];
  assert.ok(engine, 'requirements.txt pins no chdb-core==<version>');
  const compose = readFileSync(new URL('docker-compose.yml', root), 'utf8');
  const image = /image:\s*clickhouse\/clickhouse-server:(\S+)/.exec(compose)?.[1];
  assert.ok(image, 'docker-compose.yml has no clickhouse/clickhouse-server image');
  assert.equal(majorMinor(image), majorMinor(engine), `compose server ${image} vs dev engine ${engine}`);
});
