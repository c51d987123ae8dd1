// `zephyr2mqtt health`: asks a running gateway's /readyz; exit 0 only when it answers ready. Every failure says why,
// in words a container's health log can be read by.

const DEFAULT_TIMEOUT_MS = 5000;

/**
 * The URL to ask: `--url` is the base URL of the HTTP listener (http://127.0.0.1:8080, or a reverse proxy's
 * prefix), or already the /readyz or /healthz endpoint itself.
 */
export function healthUrl(given: string): URL {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new Error(`--url takes the gateway's HTTP address, like http://127.0.0.1:8080, got "${given}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`--url takes an http:// address (the gateway's http.host and http.port), got "${given}"`);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = /\/(readyz|healthz)$/.test(path) ? path : `${path}/readyz`;
  return url;
}

export async function healthCommand(base: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<number> {
  let url: URL;
  try {
    url = healthUrl(base);
  } catch (err) {
    console.error(`health: ${(err as Error).message}`);
    return 2;
  }
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    body = (await res.text()).trim();
  } catch (err) {
    console.error(`unhealthy: ${describeFetchError(err, timeoutMs)} (${url})`);
    return 1;
  }
  if (body) console.log(body);
  if (res.ok) return 0;
  console.error(`unhealthy: HTTP ${res.status} ${res.statusText}${statusHint(res.status)} (${url})`);
  return 1;
}

function statusHint(status: number): string {
  return status === 404
    ? `: no zephyr2mqtt endpoint there; --url takes the gateway's base URL, e.g. http://127.0.0.1:8080`
    : '';
}

/** fetch() says only "fetch failed"; the reason is in its cause. */
export function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const detail = typeof cause?.message === 'string' ? cause.message.split('\n')[0] : undefined;
  if (code === 'ECONNREFUSED')
    return 'connection refused (ECONNREFUSED): nothing listens there; is the gateway running, and is this its http.host and http.port?';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `unknown host name (${code})`;
  if (code?.startsWith('ERR_SSL_') || code === 'EPROTO')
    return `TLS failed (${code}): the gateway's HTTP listener speaks plain http://`;
  if (code?.startsWith('HPE_') || code === 'UND_ERR_SOCKET')
    return `not an HTTP answer (${code}): is this the gateway's http.port rather than an MQTT listener's?`;
  if (code) return `fetch failed (${code}${detail ? `: ${detail}` : ''})`;
  if (detail) return `fetch failed (${detail})`;
  return err instanceof Error ? err.message : String(err);
}
