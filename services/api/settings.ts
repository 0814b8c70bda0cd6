import { s } from '../shared/config/settings.ts';

export const apiSettings = {
  apiHost: s.string('API_HOST', '127.0.0.1', 'Address the HTTP API binds to (use 0.0.0.0 or :: to serve other hosts).'),
  apiPort: s.port('API_PORT', 8080, 'Port of the billing / operations HTTP API, `/healthz` and `/metrics`.'),
  apiKeys: s.secret('API_KEYS',
    'API keys as a comma-separated list of `name:key:scopes[@tenant]`; scopes joined by `+` from calls.read, fraud.read, '
    + 'fraud.write, billing.read, billing.write, pii.read, admin (admin satisfies every scope). With `@tenant` the key '
    + 'sees only that tenant\'s rows. With no key configured (here or in API_KEYS_FILE) every `/v1` request is refused.'),
  apiKeysFile: s.optionalString('API_KEYS_FILE',
    'File of API keys, one `name:key:scopes[@tenant]` per line (`#` comments and blank lines ignored); the key may be '
    + 'stored as `sha256:<64 hex>` so the file holds no usable secret. Read once at start-up, merged with API_KEYS.'),
  apiMaskNumbers: s.bool('API_MASK_NUMBERS', false,
    'Mask phone numbers and SIP user parts in every response and export unless the key has the pii.read scope.'),
  apiRateLimit: s.int('API_RATE_LIMIT', 600, 1, 1_000_000,
    'Requests per minute allowed per API key on `/v1` (429 with Retry-After beyond it).'),
  apiMaxRange: s.duration('API_MAX_RANGE', 31 * 86_400_000,
    'Longest `from`..`to` time range a list or search may cover (422 beyond it); exports page through it.', '31d'),
  apiPublicUrl: s.url('API_PUBLIC_URL',
    'Base URL clients reach the API at (behind a proxy), used in `next` links and shareable ladder links. Unset: '
    + 'taken from the request\'s Host header.'),
} as const;
