// A CoAP port that cannot be bound fails the adapter with one line naming the setting (like the broker's and HTTP's
// listeners), shown as its status reason; the host keeps retrying, and the adapter starts once the port is free.
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { coapAdapterConfigSchema } from '../../../adapters/coap/config.js';
import { coapAdapterModule } from '../../../adapters/coap/index.js';
import type { AdapterStatus } from '../../../gateway/adapter.js';
import { AdapterHost } from '../../../gateway/adapter-host.js';
import { silentLogger } from '../../../gateway/logger.js';
import { RecordingContext } from '../lwm2m/recording-context.js';

let host: AdapterHost | undefined;
let holder: Socket | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
  holder?.close();
  holder = undefined;
});

/** Another program's socket on ::1 (ephemeral port). */
async function occupy(): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp6');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: '::1', port: 0 }, () => resolve());
  });
  return { socket, port: socket.address().port };
}

/** An AdapterHost running the CoAP adapter, and the statuses it reports, awaitable one by one. */
function coapHost(config: Record<string, unknown>) {
  const statuses: AdapterStatus[] = [];
  const waiters: Array<(s: AdapterStatus) => void> = [];
  const next = (): Promise<AdapterStatus> => new Promise((resolve) => waiters.push(resolve));
  const h = new AdapterHost(
    coapAdapterModule as never,
    coapAdapterConfigSchema.parse(config),
    new RecordingContext(),
    silentLogger(),
    {
      statusChanged: (s) => {
        statuses.push(s);
        waiters.shift()?.(s);
      },
    },
  );
  return { host: h, statuses, next };
}

describe('a CoAP port that cannot be bound', () => {
  it('is reported in one line naming adapters.coap.port, and the adapter starts once the port is free', async () => {
    const busy = await occupy();
    holder = busy.socket;
    const h = coapHost({ bind: '::1', port: busy.port });
    host = h.host;
    const failed = h.next();
    await h.host.start();
    const reason = `adapters.coap.port ${busy.port} on ::1: in use by another program (stop it or choose another port)`;
    expect(await failed).toEqual({ state: 'failed', reason });
    expect(h.host.status()).toEqual({ state: 'failed', reason });
    // The other program goes away: the retry (1 s later) binds.
    const retried = h.next();
    holder.close();
    holder = undefined;
    expect(await retried).toMatchObject({ state: 'running' });
  });

  /** The status the adapter reports first when started bound to `bind`. */
  async function firstStatus(bind: string) {
    const h = coapHost({ bind, port: 0 });
    host = h.host;
    const failed = h.next();
    await h.host.start();
    return failed;
  }

  it('names adapters.coap.bind when the address is not on this machine', async () => {
    expect(await firstStatus('2001:db8::1')).toEqual({
      state: 'failed',
      reason:
        'adapters.coap.port 0 on 2001:db8::1: the address is not on this machine ' +
        '(set adapters.coap.bind to one of its addresses, or 0.0.0.0)',
    });
  });

  it('names the interface when a link-local bind address has a zone no interface has', async () => {
    expect(await firstStatus('fe80::1%nosuchif0')).toEqual({
      state: 'failed',
      reason:
        'adapters.coap.port 0 on fe80::1%nosuchif0: interface "nosuchif0" is not on this host, or has no IPv6 ' +
        'address yet (the adapter tries again, and starts once it is up)',
    });
  });
});
