import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { allSettings, loadConfig, settingsSections } from '../../../services/settings.ts';
import { ConfigError, parseSettings, s, settingsDocTable } from '../../../services/shared/config/settings.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

describe('configuration', () => {
  it('fills documented defaults when nothing is set', () => {
    const c = loadConfig({});
    assert.equal(c.apiPort, 8080);
    assert.equal(c.kafkaBrokers, undefined);
    assert.equal(c.clickhouseUrl, undefined);
    assert.equal(c.clickhouseDatabase, 'tollgate');
    assert.equal(c.shutdownTimeout, 15_000);
    assert.equal(c.kafkaRetention, 7 * 86_400_000);
    assert.ok(Object.isFrozen(c));
  });

  it('parses valid values', () => {
    const c = loadConfig({ API_PORT: '9000', KAFKA_BROKERS: 'k1:9092, [::1]:9093', CLICKHOUSE_URL: 'https://ch:8443', SHUTDOWN_TIMEOUT: '500ms' });
    assert.equal(c.apiPort, 9000);
    assert.deepEqual(c.kafkaBrokers, ['k1:9092', '[::1]:9093']);
    assert.equal(c.clickhouseUrl?.host, 'ch:8443');
    assert.equal(c.shutdownTimeout, 500);
  });

  it('names the variable, the value and the expected form, for every problem at once', () => {
    try {
      loadConfig({ API_PORT: '70000', KAFKA_BROKERS: 'nohostport', LOG_LEVEL: 'loud' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'TG_CONFIG_INVALID');
      assert.equal(err.problems.length, 3);
      assert.match(err.message, /API_PORT="70000" is invalid: expected a port number 1-65535/);
      assert.match(err.message, /KAFKA_BROKERS="nohostport" is invalid: expected a comma-separated list of host:port/);
      assert.match(err.message, /LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent/);
    }
  });

  it('refuses junk in the collector\'s slab and linger settings, naming each, and takes their documented forms', () => {
    assert.throws(() => loadConfig({ HEP_ENVELOPE_SLAB: 'big', PUBLISH_LINGER: 'soon' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 2);
      assert.match(err.message, /HEP_ENVELOPE_SLAB="big" is invalid: expected an integer 0-67108864/);
      assert.match(err.message, /PUBLISH_LINGER="soon" is invalid: expected a duration such as 500ms/);
      return true;
    });
    assert.throws(() => loadConfig({ HEP_ENVELOPE_SLAB: '67108865' }), /HEP_ENVELOPE_SLAB="67108865" is invalid/);
    const c = loadConfig({ HEP_ENVELOPE_SLAB: '0', PUBLISH_LINGER: '5ms' });
    assert.equal(c.hepEnvelopeSlab, 0);
    assert.equal(c.publishLinger, 5);
    assert.equal(loadConfig({}).publishLinger, 20);
  });

  it('never echoes a secret in an error', () => {
    const shape = { key: s.secret('HEP_TEST_KEY', 'test key', 16), url: allSettings.clickhouseUrl };
    try {
      parseSettings(shape, { HEP_TEST_KEY: 'hunter2', CLICKHOUSE_URL: 'ftp://host' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /HEP_TEST_KEY=<redacted> is invalid: expected a secret of at least 16 characters/);
      assert.match(err.message, /CLICKHOUSE_URL="ftp:\/\/host" is invalid: expected an absolute http or https URL/);
      assert.doesNotMatch(err.message, /hunter2/);
    }
  });

  it('refuses bad config before opening any socket: npm start exits 2 with the message', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: repo,
      env: { ...process.env, API_PORT: 'eighty', CLICKHOUSE_DATABASE: 'drop table;' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /API_PORT="eighty" is invalid: expected a port number 1-65535/);
    assert.match(r.stderr, /CLICKHOUSE_DATABASE="drop table;" is invalid: expected an identifier/);
    assert.doesNotMatch(r.stdout + r.stderr, /embedded local stack/);
  });

  it('README documents every setting (generated table is current)', () => {
    const readme = readFileSync(`${repo}README.md`, 'utf8');
    for (const section of settingsSections) {
      assert.ok(readme.includes(settingsDocTable(section.shape)), `README section "${section.title}" is stale: run npm run config-docs`);
    }
  });
});
