// The mqemitter aedes routes every publish through, with an O(1) backlog queue. mqemitter keeps messages
// beyond its concurrency limit in plain arrays and takes them out with Array.prototype.shift, which copies
// the whole array once it is large (V8 cannot trim arrays in large-object space). A burst of state updates
// to a slow subscriber queues tens of thousands of messages, and that copying took a fifth of the gateway's
// CPU time in the BLE benchmark.
import mqemitter from 'mqemitter';

/** A FIFO with the two array methods mqemitter calls (push, shift) and length; amortised O(1). */
export class FifoQueue<T> {
  #items: Array<T | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): number {
    this.#items.push(item);
    return this.length;
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head++;
    // Drop the consumed prefix once it is at least half the array: each item is copied O(1) times on average.
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return item;
  }
}

/** aedes' own default (`concurrency: 100`, empty topic levels match per [MQTT-4.7.1-3]) with FIFO queues. */
export function createMessageQueue(concurrency = 100): mqemitter.MQEmitter {
  const mq = mqemitter({ concurrency, matchEmptyLevels: true });
  const internals = mq as unknown as { _messageQueue: unknown; _messageCallbacks: unknown };
  if (!Array.isArray(internals._messageQueue) || !Array.isArray(internals._messageCallbacks)) {
    throw new Error('mqemitter internals changed: review gateway/broker/message-queue.ts');
  }
  internals._messageQueue = new FifoQueue();
  internals._messageCallbacks = new FifoQueue();
  return mq;
}
