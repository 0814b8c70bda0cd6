import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactText, redactUrl } from '../../../services/shared/redact.ts';

describe('redactUrl / redactText', () => {
  it('hides the password of a URL and keeps the user, host and path', () => {
    assert.equal(redactUrl(new URL('http://tollgate:s3cr3t@ch.example:8123/db')), 'http://tollgate:<redacted>@ch.example:8123/db');
    assert.equal(redactUrl('https://hooks.example/x?token=abc&x=1'), 'https://hooks.example/x?token=<redacted>&x=1');
  });
  it('hides a lone user-info token and credentials inside longer text', () => {
    assert.equal(redactText('POST https://T0K3N@hooks.example/a failed: 500'), 'POST https://<redacted>@hooks.example/a failed: 500');
    assert.equal(redactText('cgrates at http://u:p%40ss@127.0.0.1:2080/jsonrpc and kafka://k:v@b:9092'),
      'cgrates at http://u:<redacted>@127.0.0.1:2080/jsonrpc and kafka://k:<redacted>@b:9092');
  });
  it('leaves URLs without credentials and e-mail-like SIP URIs alone', () => {
    for (const t of ['http://127.0.0.1:8123', 'sip:alice@example.com', 'see http://a/b?page=2']) assert.equal(redactText(t), t);
  });
});

describe('where redaction applies', () => {
  it('a rejected URL setting is shown without its password', async () => {
    const { parseSettings, s } = await import('../../../services/shared/config/settings.ts');
    assert.throws(() => parseSettings({ u: s.url('X_URL', 'doc') }, { X_URL: 'ftp://me:hunter2@db.example/' }),
      (err: Error) => !err.message.includes('hunter2') && err.message.includes('ftp://me:<redacted>@db.example/'));
  });
  it('log lines carry no URL credentials, whatever field they are in', async () => {
    const { PassThrough } = await import('node:stream');
    const { createLogger } = await import('../../../services/shared/logger.ts');
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const log = createLogger({ level: 'info', format: 'json', name: 't', destination: out });
    log.error({ err: new Error('connect http://u:hunter2@h:1/ refused'), target: 'https://tok3n@hooks.example/x' }, 'webhook http://a:hunter2@b failed');
    await new Promise((r) => setImmediate(r));
    assert.ok(text.length > 0);
    assert.doesNotMatch(text, /hunter2|tok3n/);
  });
});
