// Turns connection errors into messages that say what is wrong and which config key to check.

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  /** node:tls, ERR_TLS_CERT_ALTNAME_INVALID: the name checked and the upstream's certificate. */
  host?: unknown;
  cert?: { subjectaltname?: unknown; subject?: { CN?: unknown } };
}

/** `accepted`: the upstream had answered CONNECT with a CONNACK on this connection (so TLS and the port are fine). */
export function describeConnectError(err: unknown, url: string, accepted = false): string {
  const e = (err ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = e.code;
  if (typeof code === 'number' || /^Connection refused/i.test(message)) return describeRefusal(code, message, url);
  const errCode = typeof code === 'string' ? code : '';
  return (
    describeClientCredentials(errCode, message) ??
    describeServerCertificate(e, errCode, message, url) ??
    describeSocketError(errCode, url, accepted) ??
    (/alert|certificate|handshake/i.test(message)
      ? `TLS handshake with upstream ${url} failed: ${message} (check bridge.tls.cert / key / ca)`
      : `upstream ${url}: ${message}`)
  );
}

/** The upstream answered CONNECT with a failure (MQTT 3.1.1 return code or MQTT 5 reason code). */
function describeRefusal(code: unknown, message: string, url: string): string {
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

/** Our own certificate and key could not be loaded (OpenSSL, before anything is sent). */
function describeClientCredentials(code: string, message: string): string | undefined {
  const text = `${code} ${message}`;
  if (/KEY_VALUES_MISMATCH|key values mismatch/i.test(text)) {
    return `TLS: bridge.tls.cert and bridge.tls.key do not match: the key is not the private key of that certificate (${message})`;
  }
  if (/BAD_DECRYPT|bad decrypt/i.test(text)) {
    return `TLS: bridge.tls.key is encrypted (${message}); give it without a passphrase (openssl pkey -in key.pem -out plain.pem)`;
  }
  const decoder = /DECODER routines/.test(text);
  if (decoder || /PEM routines|ERR_OSSL_PEM_/.test(text)) {
    const unreadable = decoder ? 'bridge.tls.key' : 'bridge.tls.cert';
    return `TLS: bridge.tls.cert and bridge.tls.key are not PEM (${unreadable} cannot be read: ${message}); they must be the client certificate (-----BEGIN CERTIFICATE-----) and its private key (-----BEGIN ... PRIVATE KEY-----)`;
  }
  return undefined;
}

/** The upstream's certificate did not pass verification. */
function describeServerCertificate(e: ErrorLike, code: string, message: string, url: string): string | undefined {
  if (/^ERR_SSL_.*ALERT/.test(code)) {
    return `TLS: upstream ${url} rejected the handshake (${code}); check bridge.tls.cert and bridge.tls.key (mutual TLS)`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    const state = code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet';
    return `TLS: the upstream's certificate ${state} (${message}): renew it on the broker, or check this machine's clock`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = certificateNames(e);
    const host = typeof e.host === 'string' ? e.host : undefined;
    const what = names && host ? `is for ${names}, not ${host}` : `does not match the host name (${message})`;
    return `TLS: the upstream certificate ${what}; check the URL host or bridge.tls.servername`;
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return `TLS: the upstream server certificate is not trusted (${code}: ${message}); check bridge.tls.ca`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(message)) {
    return `upstream ${url} does not speak TLS on this port (${code || 'wrong version number'}); use ${plainScheme(url)}://`;
  }
  return undefined;
}

/** The names the certificate is for: its subjectAltName entries (DNS and IP), else its CN. */
function certificateNames(e: ErrorLike): string | undefined {
  const san = e.cert?.subjectaltname;
  if (typeof san === 'string' && san !== '') return san;
  const cn = e.cert?.subject?.CN;
  return typeof cn === 'string' ? `CN=${cn}` : undefined;
}

function describeSocketError(code: string, url: string, accepted: boolean): string | undefined {
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') {
    return `cannot reach upstream ${url} (${code})`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the upstream host of ${url} (${code})`;
  if ((code === 'ECONNRESET' || code === 'EPIPE') && accepted) {
    return `upstream ${url} closed the connection (${code}) after accepting it`;
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    // The usual cause when it happens at every attempt: TLS spoken to a plain port or the other way round (both
    // just get reset), or, with TLS, a broker that refuses our client certificate.
    const hint = usesTls(url)
      ? `the port may not speak TLS (use ${plainScheme(url)}://), or it refused our client certificate (check bridge.tls.cert / key)`
      : `does the port expect TLS? use ${tlsScheme(url)}://`;
    return `upstream ${url} closed the connection (${code}); if it does at every attempt: ${hint}`;
  }
  return undefined;
}

const usesTls = (url: string) => /^(mqtts|wss):/.test(url);
const plainScheme = (url: string) => (url.startsWith('wss:') ? 'ws' : 'mqtt');
const tlsScheme = (url: string) => (url.startsWith('ws:') ? 'wss' : 'mqtts');

/** The URL without any user:password part, for logs, status and events. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^@/]*@/, '$1');
}
