import { s } from '../shared/config/settings.ts';

export const apiSettings = {
  apiHost: s.string('API_HOST', '127.0.0.1', 'Address the HTTP API binds to (use 0.0.0.0 or :: to serve other hosts).'),
  apiPort: s.port('API_PORT', 8080, 'Port of the billing / operations HTTP API, `/healthz` and `/metrics`.'),
} as const;
