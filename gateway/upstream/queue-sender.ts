// The sender: sends the queue to the upstream on each connection, in order, with at most max_inflight messages
// unacknowledged, at drain_rate while it drains a backlog. It settles what the upstream answers (PUBACK, PUBREC,
// a refusal) in the queue, and skips what the upstream cannot take (too large, a refused topic) or a queue file it
// cannot read, so one message never holds the queue for good. A new connection starts with the messages the last one
// left unacknowledged, marked DUP, under their packet ids if the upstream kept the session (queue/inflight.ts).
import { DefaultMessageIdProvider, type MqttClient, type Packet, ReasonCodes } from 'mqtt';
import type { Logger } from '../logger.js';
import { reconnectDelayMs } from './backoff.js';
import type { BridgeReport } from './bridge-report.js';
import type { UpstreamConfig } from './config.js';
import type { EchoFilter } from './echo-filter.js';
import type { LinkLimits } from './link-limits.js';
import type { OwnReports } from './own-reports.js';
import { packetBytes, topicOf } from './packet-size.js';
import type { PoisonGuard } from './poison-guard.js';
import type { TakePubAck } from './puback-fast-path.js';
import { PublishBatch } from './publish-batch.js';
import { type PubrecHandover, upstreamKeptSession } from './pubrec-handover.js';
import { type DiskQueue, QueueReadError } from './queue/disk-queue.js';
import type { RecordView } from './queue/record.js';
import { RateLimiter } from './rate-limiter.js';
import { READ_RETRIES, ReadRetry } from './read-retry.js';
import type { RefusedTopics } from './refused-topics.js';

/** Bytes of records read (and packets encoded) per batch. */
const READ_BATCH_BYTES = 256 * 1024;
/** The sender waits while more than this is queued on the socket (a slow upstream), so memory stays bounded. */
const WRITE_BUFFER_BYTES = 1024 * 1024;
/** MQTT 5 reason codes that refuse a publish for now, not for good (the bridge caused them: too many in flight,
 * a packet id still in use): the message is sent again on a new connection, never dropped. */
const TRANSIENT_REASONS = new Set([0x91, 0x97]);
/** MQTT 5 Packet Identifier in use: the upstream holds another message under the id. */
const PACKET_ID_IN_USE = 0x91;

/** The error mqtt.js gives a publish refused with `code`, for a refusal it cannot parse itself. */
function publishRefused(code: number): Error & { code: number } {
  const name = (ReasonCodes as Record<number, string | undefined>)[code] ?? 'reason code';
  return Object.assign(new Error(`Publish error: ${name} (0x${code.toString(16).toUpperCase()})`), { code });
}

/**
 * mqtt.js' packet id counter, skipping the ids reserved for messages the queue resends on a kept session: the link
 * state publish, the SUBSCRIBEs and new messages must not take an id the upstream still holds (MQTT-2.2.1-3)
 * before its message is sent again under it. register() (the sender resending a message under its id) ends the
 * reservation. Each connection's client gets its own.
 */
export class ResendIdProvider extends DefaultMessageIdProvider {
  readonly #reserved = new Set<number>();

  reserve(id: number): void {
    this.#reserved.add(id);
  }

  override allocate(): number {
    let id = super.allocate();
    for (let n = 1; n < 65535 && this.#reserved.has(id); n++) id = super.allocate();
    return id;
  }

  override register(id: number): boolean {
    this.#reserved.delete(id);
    return super.register(id);
  }
}

export interface QueueSenderDeps {
  logger: Logger;
  report: BridgeReport;
  poison: PoisonGuard;
  own: OwnReports;
  refused: RefusedTopics;
  echoes: EchoFilter;
  pubrecs: PubrecHandover;
  queue(): DiskQueue | undefined;
  config(): UpstreamConfig;
  limits(): LinkLimits;
  /** The connection of `gen` is still the current one. */
  isCurrent(gen: number): boolean;
  /** ... and connected. */
  isLive(gen: number): boolean;
  /** Sent messages may come back (echo-filter.ts). */
  tracksEchoes(): boolean;
  /** The upstream refused a message for now (`error`): the connection is closed and the message sent again on
   * the next one. */
  reconnectToResend(error: string): void;
  /** The sender failed (a bug): reported and retried on a new connection with back-off. */
  failed(gen: number, error: string): void;
}

export class QueueSender {
  #done: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  /** The running pump's handler for PUBACKs of its publishes (puback-fast-path.ts). */
  #takePubAck: TakePubAck | undefined;
  /** The queue's write position (seq) when the connection came up: the backlog ends there. */
  #backlogEnd = 0;
  #draining = false;
  readonly #limiter: RateLimiter;
  readonly #readRetry = new ReadRetry();

  constructor(
    private readonly deps: QueueSenderDeps,
    drainRate: UpstreamConfig['drain_rate'],
  ) {
    this.#limiter = new RateLimiter(drainRate);
  }

  /** Sending a backlog that was queued when the connection came up (at drain_rate). */
  get draining(): boolean {
    return this.#draining;
  }

  get takePubAck(): TakePubAck | undefined {
    return this.#takePubAck;
  }

  setRate(drainRate: UpstreamConfig['drain_rate']): void {
    this.#limiter.setRate(drainRate);
  }

  /** Wakes the sender: new data, room in the window, or the connection changed. */
  wake(): void {
    this.#wake?.();
  }

  /** Sends on the connection of `gen` once the previous connection's sender has finished. */
  start(client: MqttClient, gen: number): void {
    const previous = this.#done;
    this.#done = previous.catch(() => {}).then(() => this.#pumpSafely(client, gen));
  }

  /** On a kept session, before anything else is sent on the connection: keeps the packet ids of the messages
   * the queue sends again from everything else until each is sent again under its id (ResendIdProvider). */
  reserveResendIds(client: MqttClient): void {
    const queue = this.deps.queue();
    const ids = client.messageIdProvider;
    if (!queue || !upstreamKeptSession(client) || !(ids instanceof ResendIdProvider)) return;
    queue.forEachResendId((id) => ids.reserve(id));
  }

  /** Settles once the last sender has finished (its failure was reported). */
  finished(): Promise<void> {
    return this.#done.catch(() => {});
  }

  /** #pump, whose failure (a bug, not a file it cannot read: see #onUnreadable) is reported and retried on a new
   * connection with back-off, instead of leaving a connection that sends nothing. */
  async #pumpSafely(client: MqttClient, gen: number): Promise<void> {
    try {
      await this.#pump(client, gen);
    } catch (err) {
      this.deps.logger.error({ err }, 'sending the upstream queue failed');
      this.deps.failed(gen, `sending the upstream queue failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A queue file that cannot be read: tried again after a back-off if the error may pass, else skipped. */
  async #onUnreadable(queue: DiskQueue, err: QueueReadError, live: () => boolean): Promise<void> {
    const fix = err.fix ? ` Fix: ${err.fix}` : '';
    const retry = this.#readRetry.next(err);
    if (retry !== undefined) {
      const config = this.deps.config();
      const ms = reconnectDelayMs(retry, config.reconnect_min * 1000, config.reconnect_max * 1000);
      this.deps.report.setQueueError(
        'read',
        `${err.message}: trying again in ${(ms / 1000).toFixed(1)} s (${retry + 1} of ${READ_RETRIES}), then its ${err.messages} messages are skipped.${fix}`,
      );
      await this.#backOff(ms, live);
      return;
    }
    // Said before it happens: the drop report follows.
    this.deps.report.setQueueError(
      'read',
      `${err.message}: skipped its ${err.messages} messages (dropped, corrupt).${fix}`,
    );
    queue.skipUnreadable(err);
  }

  /** Waits `ms` or until the connection ends; new data and acknowledgements do not cut it short. */
  async #backOff(ms: number, live: () => boolean): Promise<void> {
    const until = performance.now() + ms;
    while (live() && performance.now() < until) await this.#sleepUntilWoken(until - performance.now());
  }

  #sleepUntilWoken(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        if (this.#wake === wake) this.#wake = undefined;
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(wake, timeoutMs);
      this.#wake = wake;
    });
  }

  /**
   * Sends queued records in order, at most max_inflight unacknowledged, until the connection changes. Records
   * are read in batches and encoded straight from the queue's read buffer into one socket write per batch
   * (PublishBatch); mqtt.js still matches the acknowledgements (client.outgoing) and owns the connection.
   */
  async #pump(client: MqttClient, gen: number): Promise<void> {
    const queue = this.deps.queue();
    if (!queue || !this.deps.isCurrent(gen)) return;
    const { report, poison, own: ownReports, refused: refusedTopics, echoes: echoFilter, pubrecs } = this.deps;
    const resend = queue.inflightCount();
    if (resend > 0) {
      report.counts.resent += resend;
      report.metrics.resent.inc(resend);
    }
    queue.rewind();
    // The upstream still has the messages of the last connection under their packet ids (MQTT-4.4.0-1). If it did
    // not keep the session, those ids are forgotten: a message this connection does not get to would otherwise be
    // sent on a later kept session under an id that session never held.
    const sameIds = upstreamKeptSession(client);
    if (!sameIds) queue.forgetSentIds();
    poison.connectionStarted();
    ownReports.connectionStarted();
    // Measured by the reader's position, not by the records handed out: it also passes over records acknowledged
    // before the drop (and expired ones), which a count of those handed out would leave the backlog waiting for.
    this.#backlogEnd = queue.readSeq() + queue.unreadCount();
    this.#draining = queue.unreadCount() > 0;
    const { receiveMaximum, maximumPacketSize: maxPacket, maxQos, retain } = this.deps.limits();
    const window = Math.min(this.deps.config().max_inflight, receiveMaximum);
    const live = () => this.deps.isLive(gen);
    const stream = client.stream as unknown as NodeJS.WritableStream & {
      writableLength?: number;
      cork?: () => void;
      uncork?: () => void;
    };
    const onDrain = () => this.#wake?.();
    stream.on('drain', onDrain);
    const batch = new PublishBatch(this.deps.config().protocol_version === '5');
    let ackedUncounted = 0;
    const acked = (seq: number) => {
      queue.ack(seq);
      ownReports.settled(seq);
      report.counts.acked++;
      ackedUncounted++;
    };
    let ackWake = false;
    const wakeAfterAcks = () => {
      ackWake = false;
      report.metrics.acked.inc(ackedUncounted);
      ackedUncounted = 0;
      this.#wake?.();
    };
    // One callback and one pending entry shared by every publish of this connection (no closure per
    // message): the acknowledged message id leads back to the queue record.
    const seqOfId = new Float64Array(65536);
    const onAck = (id: number, rejected = false) => {
      poison.answered();
      // A rejected message is done with, but not counted as acknowledged.
      if (rejected) queue.ack(seqOfId[id]!);
      else acked(seqOfId[id]!);
      // Wake the sender once per burst of acknowledgements, not once per PUBACK.
      if (!ackWake) {
        ackWake = true;
        queueMicrotask(wakeAfterAcks);
      }
    };
    const pending = {
      volatile: false,
      cmd: 'publish' as const,
      cb: (err: Error | null | undefined, packet?: { messageId?: number }) => {
        const id = packet?.messageId;
        if (id === undefined || !this.deps.isCurrent(gen)) return;
        pubrecs.finished(seqOfId[id]!);
        // A failure reason code (MQTT 5: not authorized, quota exceeded, payload format...): resending would be
        // refused again and hold the queue's cursor for good, so the message is dropped, counted and reported.
        if (err) {
          const code = (err as { code?: number }).code ?? 0;
          if (TRANSIENT_REASONS.has(code)) {
            // Sent again under that id on a kept session, the upstream would take it for the message it holds.
            if (code === PACKET_ID_IN_USE) queue.sentWith(seqOfId[id]!, 0);
            poison.answered();
            this.deps.reconnectToResend(
              `upstream refused a message for now (${err.message}): reconnecting to send it again`,
            );
            return;
          }
          report.rejected(err.message, ownReports.settled(seqOfId[id]!));
        }
        onAck(id, Boolean(err));
      },
    };
    const onPubrec = (packet: Packet) => {
      if (packet.cmd !== 'pubrec' || !this.deps.isCurrent(gen)) return;
      const id = packet.messageId ?? 0;
      // A failure reason code is no PUBREC to complete: the pending callback drops the message.
      if ((client.outgoing as Record<number, unknown>)[id] !== pending || (packet.reasonCode ?? 0) >= 0x80) return;
      pubrecs.received(seqOfId[id]!);
    };
    client.on('packetreceive', onPubrec);
    // Plain PUBACKs skip mqtt.js; this does what its ack handler does for them, and for the refusals it cannot parse.
    this.#takePubAck = (id, refusal) => {
      const outgoing = client.outgoing as Record<number, unknown>;
      if (outgoing[id] !== pending || !this.deps.isCurrent(gen)) return false;
      delete outgoing[id];
      client.messageIdProvider.deallocate(id);
      if (refusal === undefined) onAck(id);
      else pending.cb(publishRefused(refusal), { messageId: id });
      return true;
    };
    const qos0: number[] = [];
    /** Records of the batch and their packet ids, told to the queue once written. */
    const sentSeqs: number[] = [];
    const sentIds: number[] = [];
    let echoes = false;
    /** Records of the batch given up instead of sent (too large, a refused topic). */
    let skipped = 0;
    let visiting: RecordView | undefined;
    const visitingTopic = () => (visiting ? topicOf(visiting) : '');
    const giveUp = (seq: number, own: boolean, reason: string) => {
      queue.ack(seq);
      ownReports.settled(seq);
      skipped++;
      report.rejected(reason, own);
    };
    const freeId = () => {
      let id: number;
      // Skip ids still pending (a PUBREL owed from the previous connection, the link state publish); allocate()
      // skips those reserved for messages still to be sent again (reserveResendIds).
      do id = client.messageIdProvider.allocate() ?? 0;
      while (client.outgoing[id] !== undefined);
      return id;
    };
    const visit = (view: RecordView, seq: number, sentAs: number) => {
      const own = ownReports.sent(view, seq);
      // The record is larger than the packet it becomes, so most messages skip computing the packet size.
      if (view.bytes > maxPacket && packetBytes(view, batch.v5) > maxPacket) {
        giveUp(
          seq,
          own,
          `a message on ${topicOf(view)} is ${packetBytes(view, batch.v5)} bytes, the upstream accepts at most ${maxPacket} (its Maximum Packet Size)`,
        );
        return;
      }
      const refused = refusedTopics.size > 0 ? refusedTopics.reason(topicOf(view)) : undefined;
      if (refused !== undefined) {
        giveUp(seq, own, refused);
        return;
      }
      const qos = Math.min(view.qos, maxQos) as 0 | 1 | 2;
      let id = 0;
      if (qos > 0) {
        // The old id, reserved for it since the connection came up (reserveResendIds; register() ends that),
        // unless an earlier message sent again had the same old id.
        if (sameIds && sentAs > 0 && client.outgoing[sentAs] === undefined && client.messageIdProvider.register(sentAs))
          id = sentAs;
        else id = freeId();
        seqOfId[id] = seq;
        client.outgoing[id] = pending;
        sentSeqs.push(seq);
        sentIds.push(id);
      } else {
        qos0.push(seq);
      }
      batch.add(view, id, qos, retain && view.retain, sentAs !== 0); // sent before (an id, SENT_BEFORE): a re-delivery
      if (qos > 0) {
        visiting = view;
        poison.sent(seq, visitingTopic, view.payloadEnd - view.topicEnd);
        visiting = undefined;
      }
      if (echoes) echoFilter.rememberOut(topicOf(view), view.buf.subarray(view.topicEnd, view.payloadEnd));
    };
    try {
      while (live()) {
        let room = Math.min(window, poison.maxInflight()) - queue.inflightCount();
        // Draining a backlog, wait until a quarter of the window is free: the upstream still has three quarters to
        // work on, and the sender writes (and the upstream reads) in bursts instead of a few messages at a time
        // (drain CPU per message 14.5-18.8 -> 5.9-6.9 us). Live traffic is sent as soon as there is room.
        const worthWaiting = this.#draining && room < window >> 2 && queue.inflightCount() > 0;
        if (room <= 0 || worthWaiting || (stream.writableLength ?? 0) > WRITE_BUFFER_BYTES) {
          await this.#sleepUntilWoken(); // an acknowledgement or the socket draining wakes us
          continue;
        }
        let granted = 0;
        if (this.#draining) {
          const left = this.#backlogEnd - queue.readSeq();
          if (left <= 0) {
            this.#draining = false;
          } else if (this.#limiter.limited) {
            room = Math.min(room, left);
            granted = this.#limiter.takeUpTo(room);
            if (granted === 0) {
              await new Promise((r) => setTimeout(r, this.#limiter.waitMs()));
              continue;
            }
            room = granted;
          }
        }
        echoes = this.deps.tracksEchoes();
        skipped = 0;
        sentSeqs.length = 0;
        sentIds.length = 0;
        let n: number;
        try {
          n = (await queue.readBatch(room, READ_BATCH_BYTES, visit)) - skipped;
        } catch (err) {
          // Nothing was handed out: the queue reads only before the first record of a batch.
          if (granted > 0) this.#limiter.refund(granted);
          if (!(err instanceof QueueReadError)) throw err;
          if (live()) await this.#onUnreadable(queue, err, live);
          continue;
        }
        if (this.#readRetry.succeeded()) report.setQueueError('read', undefined);
        if (granted > n) this.#limiter.refund(granted - n);
        const parts = batch.take();
        if (!live()) break;
        if (n === 0 && skipped > 0) continue;
        if (n === 0) {
          this.#draining = false;
          const sleep = this.#sleepUntilWoken(); // woken by new data (queue.onData) or an ack
          if (queue.unreadCount() > 0) this.#wake?.(); // data that arrived while readBatch was returning
          await sleep;
          continue;
        }
        report.counts.sent += n;
        report.metrics.sent.inc(n);
        if (parts.length > 1) stream.cork?.();
        for (const part of parts) stream.write(part);
        if (parts.length > 1) stream.uncork?.();
        for (let i = 0; i < sentSeqs.length; i++) queue.sentWith(sentSeqs[i]!, sentIds[i]!);
        // QoS 0 is done once written to the socket (as mqtt.js does for its own QoS 0 publishes).
        for (const seq of qos0) acked(seq);
        qos0.length = 0;
        if (ackedUncounted > 0 && !ackWake) {
          report.metrics.acked.inc(ackedUncounted);
          ackedUncounted = 0;
        }
      }
    } finally {
      stream.removeListener('drain', onDrain);
      client.removeListener('packetreceive', onPubrec);
      this.#takePubAck = undefined;
      qos0.length = 0;
    }
  }
}
