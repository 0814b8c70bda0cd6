import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { splitStatements } from '../../../services/shared/clickhouse/statements.ts';

describe('splitStatements', () => {
  it('splits on semicolons outside strings, identifiers and comments', () => {
    const sql = `-- a comment; not a split
CREATE TABLE a (x String DEFAULT 'a;b', \`we;ird\` UInt8) ENGINE = Memory;
/* block; comment */ INSERT INTO a VALUES ('it''s; fine', 1);
SELECT "q;uoted", 'back\\\\slash;' ;
`;
    const parts = splitStatements(sql);
    assert.equal(parts.length, 3);
    assert.match(parts[0]!, /^CREATE TABLE a \(x String DEFAULT 'a;b', `we;ird` UInt8\) ENGINE = Memory$/);
    assert.match(parts[1]!, /INSERT INTO a VALUES \('it''s; fine', 1\)$/);
    assert.equal(parts[2], `SELECT "q;uoted", 'back\\\\slash;'`);
  });

  it('drops empty statements and comment-only tails', () => {
    assert.deepEqual(splitStatements(';;\n-- only a comment\n'), []);
  });

  it('joined statements split back into the same statements (property)', () => {
    const literal = fc.string({ unit: fc.constantFrom('a', ';', ' ', "''", '-', '*', '/', 'x') }).map((s) => `'${s}'`);
    const stmt = fc.array(fc.oneof(fc.constantFrom('SELECT', '1', 'x', '+', '(', ')'), literal), { minLength: 1, maxLength: 8 })
      .map((tokens) => `SELECT ${tokens.join(' ')}`);
    fc.assert(fc.property(fc.array(stmt, { minLength: 1, maxLength: 5 }), (stmts) => {
      assert.deepEqual(splitStatements(stmts.join(';\n') + ';'), stmts);
    }));
  });
});
