// A broker told to hold clients answers a CONNECT only once the gateway let them in: a client that came early then
// reads the retained state the gateway published meanwhile, never the last run's.
import { connect as tcpConnect } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred } from '../../gateway/deferred.js';
import { endClients, startTestBroker, type TestBroker } from './helpers.js';

/** Resolves once the broker has read and refused a connection whose first packet is not CONNECT (a PINGREQ). */
function refusedPing(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(Buffer.from([0xc0, 0x00])));
    const timer = setTimeout(() => reject(new Error('the broker did not close the connection')), 5000);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Connects a client made with manualConnect; resolves once its CONNECT went out. */
function connectSent(client: MqttClient): Promise<void> {
  const sent = new Promise<void>((resolve) => client.on('packetsend', (p) => p.cmd === 'connect' && resolve()));
  client.connect();
  return sent;
}

describe('admitting clients', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  it('answers a CONNECT that came early only when admitted, with the state published meanwhile', async () => {
    const gate = deferred();
    tb = await startTestBroker({}, undefined, { admitClientsWhen: gate.promise });
    await tb.broker.publish('gw/bridge/state', '{"state":"online"}', { retain: true, qos: 1 }); // the last run's
    const port = Number(new URL(tb.url()).port);

    const early = mqtt.connect(tb.url(), { reconnectPeriod: 0, connectTimeout: 10_000, manualConnect: true });
    const seen: string[] = [];
    early.on('connect', () => seen.push('connack'));
    await connectSent(early);
    // A connection opened after the early CONNECT was sent, and refused: the broker has read that CONNECT by now.
    await refusedPing(port);
    expect(seen).toEqual([]);

    await tb.broker.publish('gw/bridge/state', '{"state":"offline"}', { retain: true, qos: 1 });
    gate.resolve();
    await new Promise<void>((resolve) => (early.connected ? resolve() : early.once('connect', () => resolve())));
    const retained = new Promise<void>((resolve) =>
      early.on('message', (_t, payload) => {
        seen.push(payload.toString());
        resolve();
      }),
    );
    await early.subscribeAsync('gw/bridge/state');
    await retained;
    expect(seen).toEqual(['connack', '{"state":"offline"}']);
    early.end(true);
  });

  it('refuses the clients it held when the gateway did not start', async () => {
    const gate = deferred();
    tb = await startTestBroker({}, undefined, { admitClientsWhen: gate.promise });
    const early = mqtt.connect(tb.url(), { reconnectPeriod: 0, connectTimeout: 10_000, manualConnect: true });
    const closed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the held client was not refused within 5 s')), 5000);
      early.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await connectSent(early);
    gate.reject(new Error('http.port in use'));
    await closed;
    expect(early.connected).toBe(false);
  });
});
