// Builds the mqtt.js client options from `bridge:`: credentials, TLS files, protocol version, LWT.
import { readFile } from 'node:fs/promises';
import type { IClientOptions } from 'mqtt';
import type { UpstreamConfig } from './config.js';

export const ONLINE = JSON.stringify({ state: 'online' });
export const OFFLINE = JSON.stringify({ state: 'offline' });

export class UpstreamConfigError extends Error {
  override name = 'UpstreamConfigError';
}

async function readConfigFile(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UpstreamConfigError(`cannot read bridge.${key} ${path} (${code})`);
  }
}

export async function buildClientOptions(
  config: UpstreamConfig,
  clientId: string,
  stateTopic: string,
  /** false after the upstream refused a retained will (MQTT 5 0x9A Retain not supported), or with retain: strip. */
  retainWill = config.retain === 'keep',
): Promise<IClientOptions> {
  const v5 = config.protocol_version === '5';
  const opts: IClientOptions = {
    clientId,
    protocolVersion: v5 ? 5 : 4,
    keepalive: config.keepalive,
    clean: config.clean_session,
    connectTimeout: config.connect_timeout * 1000,
    reconnectPeriod: 0, // the bridge reconnects itself, with jittered back-off
    queueQoSZero: false,
    // Pings go out every keepalive whatever the traffic: rescheduling a timer on every PUBACK cost ~4 % of the
    // drain's CPU time. mqtt.js' debug logging is off anyway; a no-op logger skips its per-packet checks.
    reschedulePings: false,
    log: () => {},
  };
  if (config.link_state) {
    const qos = Math.min(1, config.max_qos) as 0 | 1;
    opts.will = { topic: stateTopic, payload: Buffer.from(OFFLINE), qos, retain: retainWill };
  }
  if (v5 && !config.clean_session) opts.properties = { sessionExpiryInterval: config.session_expiry };
  if (config.username !== undefined) opts.username = config.username;
  if (config.password !== undefined) opts.password = config.password;
  if (config.password_file !== undefined) {
    opts.password = (await readConfigFile('password_file', config.password_file))
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  const tls = config.tls;
  opts.rejectUnauthorized = tls?.verify ?? true;
  if (tls?.ca) opts.ca = await readConfigFile('tls.ca', tls.ca);
  if (tls?.cert) opts.cert = await readConfigFile('tls.cert', tls.cert);
  if (tls?.key) opts.key = await readConfigFile('tls.key', tls.key);
  if (tls?.servername) opts.servername = tls.servername;
  return opts;
}
