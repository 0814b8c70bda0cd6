// Node 20's `node --test <dir>` only collects .js/.mjs/.cjs files; this shim makes
// `node --import tsx --test test/unit/sip/` run the TypeScript suites of this folder.
import './rfc4475.test.ts';
import './callflows.test.ts';
import './parse.test.ts';
import './property.test.ts';
import './fuzz.test.ts';
