import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TenantMap } from '../../../services/analyzer/tenants.ts';
import { analyzerSettings } from '../../../services/analyzer/settings.ts';
import { ConfigError, parseSettings } from '../../../services/shared/config/settings.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { AnalyzerErrors } from '../../../services/analyzer/errors.ts';

describe('TenantMap', () => {
  const m = TenantMap.parse('a.example=acme, *.b.example=beta, x.b.example=xeno', 'default');

  it('maps exact domains case-insensitively and sub-domains through wildcards, the longest match winning', () => {
    assert.equal(m.lookup('A.Example'), 'acme');
    assert.equal(m.lookup('pbx.b.example'), 'beta');
    assert.equal(m.lookup('x.b.example'), 'xeno');
    assert.equal(m.lookup('b.example'), undefined);
    assert.equal(m.lookup(''), undefined);
  });

  it('picks the first mapped candidate, else the first domain with the default tenant', () => {
    assert.deepEqual(m.pick(['198.51.100.1', 'a.example']), { tenant: 'acme', domain: 'a.example' });
    assert.deepEqual(m.pick([null, 'unknown.example', 'other.example']), { tenant: 'default', domain: 'unknown.example' });
    assert.deepEqual(m.pick([null, undefined, '']), { tenant: 'default', domain: '' });
  });

  it('rejects malformed entries with a typed error', () => {
    assert.throws(() => TenantMap.parse('a.example', 'default'), (e: unknown) => isTollgateError(e, AnalyzerErrors.badTenantMap));
  });

  it('settings validate TENANT_DOMAINS and retention days as integers', () => {
    const ok = parseSettings(analyzerSettings, { TENANT_DOMAINS: 'a.example=acme,*.b.example=beta', RETENTION_CALLS: '365' });
    assert.equal(ok.retentionCalls, 365);
    assert.throws(() => parseSettings(analyzerSettings, { RETENTION_SIP_MESSAGES: '7.5' }), ConfigError);
    assert.throws(() => parseSettings(analyzerSettings, { RETENTION_QOS: '0' }), ConfigError);
    assert.throws(() => parseSettings(analyzerSettings, { TENANT_DOMAINS: 'acme' }), ConfigError);
  });
});
