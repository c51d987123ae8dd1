// The dashboard's cookies: HttpOnly (no script reads them), SameSite=Strict (no other site sends them), Secure when
// the page came over HTTPS (a TLS reverse proxy).
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** A Set-Cookie header value; `maxAgeS` 0 clears the cookie. */
export function cookieHeader(name: string, value: string, path: string, maxAgeS: number, secure = false): string {
  return `${name}=${value}; HttpOnly; SameSite=Strict; Path=${path}; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}
