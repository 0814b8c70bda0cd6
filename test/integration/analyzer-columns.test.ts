/**
 * The analyzer's row types come from `services/analyzer/store/columns.ts`, generated from `sql/`: a migration that
 * changes a table must come with the regenerated spec (`npm run analyzer-columns`), which then fails type-checking
 * wherever a row builder no longer fits.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { readColumns, renderColumns } from '../../services/analyzer/store/column-spec.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';

describe('analyzer column spec', { timeout: 120_000 }, () => {
  const env = new AnalyzerEnv();
  before(() => env.setup());
  after(() => env.cleanup());

  it('columns.ts is what sql/ creates (regenerate with npm run analyzer-columns)', async () => {
    const generated = renderColumns(await readColumns(env.store));
    const committed = readFileSync(new URL('../../services/analyzer/store/columns.ts', import.meta.url), 'utf8');
    assert.equal(committed, generated);
  });
});
