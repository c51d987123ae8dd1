// broker.session_expiry: a persistent session whose client stays away longer is forgotten (subscriptions, queued
// messages, owner); one whose client is connected, or came back in time, is kept.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JournalPersistence } from '../../gateway/broker/persistence.js';
import { SessionExpiry, startSessionExpiry, sweepIntervalMs } from '../../gateway/broker/session-expiry.js';
import { collect, endClients, startTestBroker, type TestBroker } from './helpers.js';

describe('SessionExpiry', () => {
  it('gives the sessions away for the expiry or longer, oldest first, and counts again from a disconnect', () => {
    let now = 0;
    const expiry = new SessionExpiry(10_000, () => now);
    expiry.found(['a', 'b']);
    now = 4000;
    expiry.disconnected('c');
    expiry.disconnected('b'); // b connected and went away again
    now = 9999;
    expect(expiry.takeExpired()).toEqual([]);
    now = 10_000;
    expect(expiry.takeExpired()).toEqual([{ clientId: 'a', awayMs: 10_000 }]);
    expiry.connected('c');
    now = 20_000;
    expect(expiry.takeExpired()).toEqual([{ clientId: 'b', awayMs: 16_000 }]);
    expect(expiry.takeExpired()).toEqual([]);
  });

  it('starts the time away again for a session whose client is connecting, and only for a stored one', () => {
    let now = 0;
    const expiry = new SessionExpiry(10_000, () => now);
    expiry.found(['a']);
    now = 8000;
    expiry.returning('a');
    expiry.returning('never-stored');
    now = 17_999;
    expect(expiry.takeExpired()).toEqual([]);
    now = 18_000;
    expect(expiry.takeExpired()).toEqual([{ clientId: 'a', awayMs: 10_000 }]);
    now = 100_000;
    expect(expiry.takeExpired()).toEqual([]);
  });

  it('sweeps a tenth of the expiry, between 1 s and an hour', () => {
    expect([1, 30, 600, 2_592_000].map(sweepIntervalMs)).toEqual([1000, 3000, 60_000, 3_600_000]);
  });

  it('makes a connection wait while its session is being forgotten, and skips a connected client', async () => {
    let now = 0;
    let release: () => void = () => {};
    const forgotten: string[] = [];
    const run = startSessionExpiry({
      expirySeconds: 10,
      stored: ['gone', 'here'],
      isConnected: (id) => id === 'here',
      forget: (id) =>
        new Promise<void>((resolve) => {
          release = () => {
            forgotten.push(id);
            resolve();
          };
        }),
      onExpired: () => {},
      now: () => now,
    });
    try {
      now = 10_000;
      run.sweep();
      let settled = false;
      const waiting = run.settled('gone').then(() => {
        settled = true;
      });
      await Promise.resolve();
      expect(settled).toBe(false);
      release();
      await waiting;
      expect(forgotten).toEqual(['gone']);
    } finally {
      run.stop();
    }
  });
});

describe('broker.session_expiry', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  async function connack(opts: IClientOptions): Promise<{ client: MqttClient; sessionPresent: boolean }> {
    const client = mqtt.connect((tb as TestBroker).url(), { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    const { sessionPresent } = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    return { client, sessionPresent };
  }

  const expiredLines = () => (tb as TestBroker).log.lines.filter((l) => l.msg.startsWith('persistent session expired'));

  it('forgets a session whose client stayed away past it, and keeps the connected one', async () => {
    tb = await startTestBroker({ session_expiry: 1 });
    const away: IClientOptions = { clientId: 'away', clean: false };
    const stays: IClientOptions = { clientId: 'stays', clean: false };
    const first = await connack(away);
    await first.client.subscribeAsync('exp/#', { qos: 1 });
    await first.client.endAsync();
    const kept = await connack(stays);
    await kept.client.subscribeAsync('exp/#', { qos: 1 });
    const pub = await tb.connect();
    await pub.publishAsync('exp/t', 'queued', { qos: 1 });
    // The sweep runs every second: the session is forgotten one to two seconds after its client left.
    await vi.waitFor(() => expect(expiredLines()).toHaveLength(1), { timeout: 5000, interval: 100 });
    expect(expiredLines()[0]).toMatchObject({ clientId: 'away', session_expiry: 1 });
    expect(expiredLines()[0]?.away_s).toBeGreaterThanOrEqual(1);

    const back = await connack(away);
    expect(back.sessionPresent).toBe(false);
    const seen = collect(back.client);
    // Not subscribed any more: a new message is not delivered, the queued one is gone.
    await back.client.subscribeAsync('sync', { qos: 1 });
    await pub.publishAsync('exp/t', 'after', { qos: 1 });
    await pub.publishAsync('sync', 'sync', { qos: 1 });
    await seen.waitFor(1);
    expect(seen.messages.map((m) => m.payload)).toEqual(['sync']);

    // The client that stayed connected kept its session.
    await kept.client.endAsync();
    const again = await connack(stays);
    expect(again.sessionPresent).toBe(true);
    expect(expiredLines()).toHaveLength(1);
  });

  it('holds the CONNACK of a client whose session is being forgotten until it is gone', async () => {
    tb = await startTestBroker({ session_expiry: 1 });
    const opts: IClientOptions = { clientId: 'late', clean: false };
    const first = await connack(opts);
    await first.client.subscribeAsync('exp/#', { qos: 1 });
    await first.client.endAsync();
    // The expiry's forgetting stalls at its start; the client connects meanwhile.
    const original = JournalPersistence.prototype.forgetSession;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stalled = vi.spyOn(JournalPersistence.prototype, 'forgetSession').mockImplementation(async function (
      this: JournalPersistence,
      client,
    ) {
      await gate;
      return original.call(this, client);
    });
    const returning = vi.spyOn(SessionExpiry.prototype, 'returning');
    try {
      await vi.waitFor(() => expect(stalled).toHaveBeenCalledTimes(1), { timeout: 5000, interval: 50 });
      let connected = false;
      const back = connack(opts).then((result) => {
        connected = true;
        return result;
      });
      // The broker has taken the CONNECT in once the connection asks for its session (or, wrongly, answered it).
      await vi.waitFor(() => expect(returning.mock.calls.length > 0 || connected).toBe(true), {
        timeout: 5000,
        interval: 20,
      });
      expect(connected).toBe(false);
      release();
      expect((await back).sessionPresent).toBe(false);
    } finally {
      stalled.mockRestore();
      returning.mockRestore();
    }
  });

  it('counts a session an earlier run left from the start of this one', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'z2m-session-expiry-'));
    try {
      tb = await startTestBroker({ session_expiry: 0 }, dataDir);
      const opts: IClientOptions = { clientId: 'left', clean: false };
      const first = await connack(opts);
      await first.client.subscribeAsync('exp/#', { qos: 1 });
      await first.client.endAsync();
      await tb.stop();
      tb = await startTestBroker({ session_expiry: 1 }, dataDir);
      await vi.waitFor(() => expect(expiredLines()).toHaveLength(1), { timeout: 5000, interval: 100 });
      expect(expiredLines()[0]).toMatchObject({ clientId: 'left' });
      // Forgotten on disk too: the next run has no session to resume.
      await tb.stop();
      tb = await startTestBroker({ session_expiry: 0 }, dataDir);
      expect((await connack(opts)).sessionPresent).toBe(false);
    } finally {
      await tb?.stop();
      tb = undefined;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
