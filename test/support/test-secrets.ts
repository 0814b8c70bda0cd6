/**
 * The secrets the tests hand to tollgate (HEP auth keys, ClickHouse passwords, API keys, webhook secrets, the ESL
 * password, mod_json_cdr credentials). Tests take them from here, so the suite-wide scan
 * (`test/zz-secret-scan.test.ts`) looks for exactly what was configured. Secrets made at run time are added with
 * `registerTestSecret` (`test-output.ts`).
 */
export const START_HEP_AUTH_KEY = 'hep-key-Zq8v1Lw3';
export const START_CLICKHOUSE_PASSWORD = 'ch-pass-Yt6k2Pn9';
export const URL_CLICKHOUSE_PASSWORD = 'url-pass-Qm4x7Hs2';
export const REFUSED_HEP_AUTH_KEY = 'hep-key-Rr5c8Wd1';
export const COLLECTOR_HEP_AUTH_KEY = 'right-key-Hk3w9Tq1';
export const GUARD_MAIN_WEBHOOK_SECRET = 'whsec_short-but-long-enough-to-pass-length-check';
/** FreeSWITCH's default event socket password, which the tests' switches use. */
export const ESL_PASSWORD = 'ClueCon';
export const JSON_CDR_PASSWORD = 'json-cdr-secret';
export const JSON_CDR_CREDENTIALS = `freeswitch:${JSON_CDR_PASSWORD}`;
export const API_TEST_KEYS = {
  admin: 'admin-key-0123456789abcdef0123',
  noc: 'noc-key-0123456789abcdef012345',
  acme: 'acme-key-0123456789abcdef01234',
  fraud: 'fraud-key-0123456789abcdef0123',
  pii: 'pii-key-0123456789abcdef0123456',
} as const;

export const TEST_SECRETS: readonly string[] = [
  START_HEP_AUTH_KEY, START_CLICKHOUSE_PASSWORD, URL_CLICKHOUSE_PASSWORD, REFUSED_HEP_AUTH_KEY, COLLECTOR_HEP_AUTH_KEY,
  GUARD_MAIN_WEBHOOK_SECRET, ESL_PASSWORD, JSON_CDR_PASSWORD, ...Object.values(API_TEST_KEYS),
];

/** How the mod_json_cdr credentials travel (a Basic authorization header): a logged header would show this. */
export const ENCODED_TEST_SECRETS: readonly string[] = [Buffer.from(JSON_CDR_CREDENTIALS).toString('base64')];
