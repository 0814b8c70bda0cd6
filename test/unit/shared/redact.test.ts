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
