// Turns connection errors into messages that say what is wrong and which config key to check.
export function describeConnectError(err: unknown, url: string): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = e?.code;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof code === 'number' || /^Connection refused/i.test(message)) {
    if (code === 4 || code === 134 || /bad user ?name or password/i.test(message)) {
      return `upstream ${url} refused the login: bad username or password (check bridge.username and bridge.password / password_file)`;
    }
    if (code === 5 || code === 135 || /not authori[sz]ed/i.test(message)) {
      return `upstream ${url} refused the connection: not authorized (check bridge.username and bridge.password / password_file, and the broker's ACL for this client id)`;
    }
    if (code === 1 || code === 132 || /unacceptable protocol version|unsupported protocol version/i.test(message)) {
      return `upstream ${url} does not speak this MQTT version (${message}); set bridge.protocol_version to '3.1.1'`;
    }
    if (code === 2 || code === 133) return `upstream ${url} rejected the client id (check bridge.client_id)`;
    return `upstream ${url} refused the connection: ${message}`;
  }
  if (typeof code === 'string') {
    if (/^ERR_SSL_.*ALERT/.test(code)) {
      return `TLS: upstream ${url} rejected the handshake (${code}); check bridge.tls.cert and bridge.tls.key (mutual TLS)`;
    }
    if (
      /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code) &&
      !/ALTNAME/.test(code) &&
      code !== 'ERR_TLS_CERT_ALTNAME_INVALID'
    ) {
      return `TLS: the upstream server certificate is not trusted (${code}: ${message}); check bridge.tls.ca`;
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return `TLS: the upstream certificate does not match the host name (${message}); check the URL host or bridge.tls.servername`;
    }
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') {
      return `cannot reach upstream ${url} (${code})`;
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the upstream host of ${url} (${code})`;
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      return `upstream ${url} closed the connection (${code}); with mutual TLS this often means it refused our client certificate (check bridge.tls.cert / key)`;
    }
  }
  if (/alert|certificate|handshake/i.test(message)) {
    return `TLS handshake with upstream ${url} failed: ${message} (check bridge.tls.cert / key / ca)`;
  }
  return `upstream ${url}: ${message}`;
}

/** The URL without any user:password part, for logs, status and events. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^@/]*@/, '$1');
}
