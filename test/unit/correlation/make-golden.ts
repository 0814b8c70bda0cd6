/** Writes `test/fixtures/correlation-golden.json` from the build it runs in (see golden-stream.ts). Run it only
 * from a known-good build: `npx tsx test/unit/correlation/make-golden.ts`. */
import { writeFileSync } from 'node:fs';
import { goldenStream, runGolden } from './golden-stream.ts';

const out = new URL('../../fixtures/correlation-golden.json', import.meta.url);
const g = runGolden(goldenStream());
writeFileSync(out, `${JSON.stringify(g)}\n`);
console.log(`${g.messages} messages → ${g.calls} calls, ${g.registrations} registrations; ${g.snapshots.length} snapshots`);
