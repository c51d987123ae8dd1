// The mqemitter aedes routes every publish through, with an O(1) backlog queue. mqemitter keeps messages
// beyond its concurrency limit in plain arrays and takes them out with Array.prototype.shift, which copies
// the whole array once it is large (V8 cannot trim arrays in large-object space). A burst of state updates
// to a slow subscriber queues tens of thousands of messages, and that copying took a fifth of the gateway's
// CPU time in the BLE benchmark.
// mqemitter also takes the next queued message from inside the completion of the previous one: each message whose
// subscribers all finish at once (in-process handlers, or no subscriber at all) is one level deeper on the stack, and
// a backlog of about a thousand such messages overflowed it (RangeError, the process exits). The release is
// trampolined here, so the backlog is worked through in a loop at constant stack depth.
import { createRequire } from 'node:module';
import mqemitter from 'mqemitter';

type Parallel = (that: unknown, toCall: unknown, arg: unknown, done: unknown) => void;
type FastParallel = (options: { results: boolean; released: () => void }) => Parallel;
// mqemitter's own copy, resolved from where mqemitter lives (it is mqemitter's dependency, not ours).
const fastparallel = createRequire(createRequire(import.meta.url).resolve('mqemitter'))('fastparallel') as FastParallel;

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
  const internals = mq as unknown as {
    _messageQueue: unknown;
    _messageCallbacks: unknown;
    _parallel: unknown;
    _released: unknown;
  };
  if (
    !Array.isArray(internals._messageQueue) ||
    !Array.isArray(internals._messageCallbacks) ||
    typeof internals._parallel !== 'function' ||
    typeof internals._released !== 'function'
  ) {
    throw new Error('mqemitter internals changed: review gateway/broker/message-queue.ts');
  }
  internals._messageQueue = new FifoQueue();
  internals._messageCallbacks = new FifoQueue();
  internals._parallel = fastparallel({ results: false, released: trampolined(internals._released as () => void) });
  return mq;
}

/** `release` as a loop: a call made while an earlier one runs is counted and carried out after it returns. */
function trampolined(release: () => void): () => void {
  let running = false;
  let owed = 0;
  return () => {
    owed++;
    if (running) return;
    running = true;
    try {
      while (owed > 0) {
        owed--;
        release();
      }
    } finally {
      // After a throw the owed releases stay owed: dropping them would leave mqemitter counting messages in
      // flight that are not, until it stops routing altogether.
      running = false;
    }
  };
}
