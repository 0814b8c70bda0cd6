/** The browser session cookie (set by routes/session.ts, read by the auth hook for GET/HEAD only). */
export const SESSION_COOKIE = 'tg_api_key';

/** The key in the session cookie, if any. */
export function cookieKey(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      try {
        const v = decodeURIComponent(part.slice(eq + 1).trim());
        return v === '' ? undefined : v;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
