import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_VALUE, applyConditionalAll, applyTemplateVariables, interpolate, type VariableState } from '../../../dashboards/lib/template.ts';

const opts = (...v: string[]) => v.map((x) => ({ text: x, value: x }));
const tenant = (current: VariableState['current']): VariableState => ({ name: 'tenant', current, options: opts('acme', 'beta') });

describe('$__conditionalAll, as the ClickHouse plugin frontend expands it', () => {
  it('keeps the condition for a concrete selection', () => {
    assert.equal(applyConditionalAll('WHERE $__conditionalAll(tenant IN ($tenant), $tenant)', [tenant(['acme'])]), 'WHERE tenant IN ($tenant)');
    assert.equal(applyConditionalAll('$__conditionalAll(t = $tenant, $tenant)', [tenant('acme')]), 't = $tenant');
  });

  it('1=1 for All (single or multi) and for an empty value', () => {
    assert.equal(applyConditionalAll('$__conditionalAll(tenant IN ($tenant), $tenant)', [tenant([ALL_VALUE])]), '1=1');
    assert.equal(applyConditionalAll('$__conditionalAll(tenant = $tenant, $tenant)', [tenant(ALL_VALUE)]), '1=1');
    assert.equal(applyConditionalAll('$__conditionalAll(x = $tenant, $tenant)', [tenant('')]), '1=1');
    assert.equal(applyConditionalAll('$__conditionalAll(x IN ($tenant), $tenant)', [tenant([])]), '1=1');
  });

  it('nested parentheses, several macros, and the ${var} form that v4 does not detect (#445)', () => {
    const v = [tenant([ALL_VALUE]), { name: 'node', current: ['n1'] }];
    assert.equal(applyConditionalAll('$__conditionalAll(hasAny(nodes, [$node]), $node) AND $__conditionalAll(f(tenant) IN ($tenant), $tenant)', v),
      'hasAny(nodes, [$node]) AND 1=1');
    assert.equal(applyConditionalAll('$__conditionalAll(t IN (${tenant}), ${tenant})', v), 't IN (${tenant})');
  });
});

describe("Grafana's variable substitution with the ClickHouse plugin's format", () => {
  it('single value: raw; multi value: quoted list; All without allValue: every option', () => {
    assert.equal(interpolate("tenant = '$tenant'", [tenant('acme')]), "tenant = 'acme'");
    assert.equal(interpolate('tenant IN ($tenant)', [tenant(['acme', 'beta'])]), "tenant IN ('acme','beta')");
    assert.equal(interpolate('tenant IN ($tenant)', [tenant(['acme'])]), "tenant IN ('acme')");
    assert.equal(interpolate('tenant IN ($tenant)', [tenant([ALL_VALUE])]), "tenant IN ('acme','beta')");
  });

  it('All with a custom allValue is inserted as is, unformatted', () => {
    assert.equal(interpolate('x IN (${tenant:sqlstring})', [{ ...tenant([ALL_VALUE]), allValue: 'SELECT 1' }]), 'x IN (SELECT 1)');
  });

  it('explicit formats: sqlstring, singlequote, doublequote, csv, pipe, json, raw, text, percentencode', () => {
    const v = [tenant(["o'brien", 'beta'])];
    assert.equal(interpolate('${tenant:sqlstring}', v), "'o''brien','beta'");
    assert.equal(interpolate('${tenant:singlequote}', v), "'o\\'brien','beta'");
    assert.equal(interpolate('${tenant:doublequote}', [tenant(['a"b'])]), '"a\\"b"');
    assert.equal(interpolate('${tenant:csv}|[[tenant:pipe]]|${tenant:json}', v), 'o\'brien,beta|o\'brien|beta|["o\'brien","beta"]');
    assert.equal(interpolate('${tenant:raw}', [tenant('acme')]), 'acme');
    assert.equal(interpolate('${interval:text}=${interval}', [{ name: 'interval', current: '300', text: '5m' }]), '5m=300');
    assert.equal(interpolate("${q:percentencode}", [{ name: 'q', current: "a'b\\c (x)*!" }]), 'a%27b%5Cc%20%28x%29%2A%21');
    assert.throws(() => interpolate('${tenant:lucene}', v), /format "lucene"/);
  });

  it('unknown variables and built-in macros are left for the backend', () => {
    assert.equal(interpolate('$__timeFilter(ts) AND $__interval_s AND $nope AND ${nope2}', [tenant('a')]), '$__timeFilter(ts) AND $__interval_s AND $nope AND ${nope2}');
  });

  it('applyTemplateVariables: conditionalAll first, then substitution', () => {
    const sql = 'WHERE $__conditionalAll(tenant IN (${tenant:sqlstring}), $tenant)';
    assert.equal(applyTemplateVariables(sql, [tenant(['acme'])]), "WHERE tenant IN ('acme')");
    assert.equal(applyTemplateVariables(sql, [tenant([ALL_VALUE])]), 'WHERE 1=1');
  });
});
