/**
 * Credentials out of anything printed: a URL's user-info password and secret-looking query parameters become
 * `<redacted>`, wherever the URL sits in a text (banners, health details, error messages, log lines).
 */
const MARK = '<redacted>';

// scheme://user:password@  or  scheme://token@ (a lone user-info part is often a token: webhooks, basic-auth URLs)
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@]+)@/gi;
const SECRET_PARAM = /([?&](?:password|passwd|pwd|pass|secret|token|api[_-]?key|key|access[_-]?token|auth)=)[^&#\s"']*/gi;

export function redactText(text: string): string {
  return text
    .replace(USERINFO, (_m, scheme: string, info: string) => {
      const colon = info.indexOf(':');
      return colon >= 0 ? `${scheme}${info.slice(0, colon)}:${MARK}@` : `${scheme}${MARK}@`;
    })
    .replace(SECRET_PARAM, `$1${MARK}`);
}

/** A URL (object or text) as it may be shown. */
export function redactUrl(url: URL | string): string {
  return redactText(typeof url === 'string' ? url : url.toString());
}
