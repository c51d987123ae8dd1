// The embedded broker as the rest of the gateway sees it. The broker module implements it on aedes.

export interface BrokerMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** The publishing MQTT client, or undefined for messages published by the gateway itself. */
  clientId?: string | undefined;
}

export interface PublishOptions {
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

/** Runs for every accepted publish (clients' after auth/ACL, and the gateway's own) before the message is
 * acknowledged to its publisher and delivered. The upstream bridge uses it to persist before PUBACK. Call `done`
 * once: `done()` lets the message through, `done(err)` refuses it (no PUBACK, the client is disconnected), as does
 * throwing before calling it. A callback, not a promise: this runs for every message a device sends.
 * `msg.payload` may share memory with the connection's read buffer: copy what you keep beyond the call. */
export type PublishInterceptor = (msg: BrokerMessage, done: (err?: Error) => void) => void;

export interface ListenerAddress {
  type: 'mqtt' | 'mqtts' | 'ws';
  host: string;
  /** The bound port (the real one when the config asked for port 0). */
  port: number;
}

export interface EmbeddedBroker {
  /** Publish as the gateway (no ACL). Resolves once interceptors ran and the message was handed to aedes. */
  publish(topic: string, payload: string | Buffer, opts?: PublishOptions): Promise<void>;
  /** In-process subscription (no MQTT client); returns an unsubscribe function. */
  subscribe(filter: string, handler: (msg: BrokerMessage) => void): () => void;
  addInterceptor(fn: PublishInterceptor): () => void;
  /** The retained message on a topic (from persistence after a restart), or undefined. */
  retained(topic: string): Buffer | undefined;
  /** Every retained message (after a restart too, from persistence). */
  retainedMessages(): Iterable<BrokerMessage>;
  clientCount(): number;
  addresses(): ListenerAddress[];
  /** Stops taking connections and closes the clients' (their wills go out); in-process publishing goes on. On
   * shutdown, so that nothing a client publishes is acknowledged after the upstream bridge stopped queueing. */
  disconnectClients(): Promise<void>;
  close(): Promise<void>;
}
