import type { Driver } from '@pilot/daemon/driver';
import { encodeServiceEvent, formatAddress, ServiceEventDecoder, WellKnownPort } from '@pilot/wire';
import type { PilotNode } from './pilot-node.js';
import { printable, readChunk, writeAll } from './stream-io.js';
import { ToolFailure } from './tool-error.js';

/** The events a subscription keeps for reading (older ones are dropped and counted). */
export const SUBSCRIPTION_BUFFER = 200;
const MAX_SUBSCRIPTIONS = 32;

export interface PilotEvent {
  readonly seq: number;
  readonly topic: string;
  readonly data: string;
  readonly encoding: 'utf8' | 'base64';
  readonly bytes: number;
  readonly received_at: string;
}

export interface SubscriptionView {
  readonly id: string;
  readonly uri: string;
  readonly peer: string;
  readonly address: string;
  readonly topic: string;
  readonly state: 'open' | 'closed';
  readonly received: number;
  readonly dropped: number;
}

interface Subscription {
  readonly id: string;
  readonly uri: string;
  readonly peer: string;
  readonly address: string;
  readonly topic: string;
  readonly driver: Driver;
  state: 'open' | 'closed';
  received: number;
  dropped: number;
  readonly events: PilotEvent[];
}

export const SUBSCRIPTION_URI_PREFIX = 'pilot://subscriptions/';

/**
 * Event-stream subscriptions (port 1002) held in the background: a subscribe call returns at once,
 * events collect here, and the host tells MCP sessions through `notifications/resources/updated`.
 */
export class Subscriptions {
  readonly #node: PilotNode;
  readonly #all = new Map<string, Subscription>();
  readonly #onChange: (uri: string | undefined) => void;
  #next = 1;

  /** `onChange(uri)` on new events or a closed stream; `onChange(undefined)` when the list changes. */
  constructor(node: PilotNode, onChange: (uri: string | undefined) => void) {
    this.#node = node;
    this.#onChange = onChange;
  }

  async add(peer: string, topic: string): Promise<SubscriptionView> {
    if (this.#all.size >= MAX_SUBSCRIPTIONS)
      throw new ToolFailure(
        'too_large',
        `at most ${MAX_SUBSCRIPTIONS} subscriptions; pilot_unsubscribe one first`,
      );
    const address = await this.#node.resolve(peer);
    const driver = await this.#node.openDriver();
    let stream: Awaited<ReturnType<Driver['dial']>>;
    try {
      stream = await driver.dial(address, WellKnownPort.EVENT_STREAM, {
        timeoutMs: this.#node.limits.dialTimeoutMs,
      });
      await writeAll(stream, encodeServiceEvent({ topic, payload: new Uint8Array() }));
    } catch (error) {
      await this.#node.closeDriver(driver);
      throw error;
    }
    const id = `s${this.#next++}`;
    const subscription: Subscription = {
      id,
      uri: `${SUBSCRIPTION_URI_PREFIX}${id}`,
      peer,
      address: formatAddress(address),
      topic,
      driver,
      state: 'open',
      received: 0,
      dropped: 0,
      events: [],
    };
    this.#all.set(id, subscription);
    void (async () => {
      const decoder = new ServiceEventDecoder();
      try {
        for (;;) {
          const chunk = await readChunk(stream);
          if (chunk === undefined) break;
          const events = decoder.push(chunk);
          for (const event of events) {
            subscription.received += 1;
            const { text, encoding } = printable(event.payload);
            subscription.events.push({
              seq: subscription.received,
              topic: event.topic,
              data: text,
              encoding,
              bytes: event.payload.length,
              received_at: new Date().toISOString(),
            });
            if (subscription.events.length > SUBSCRIPTION_BUFFER) {
              subscription.events.shift();
              subscription.dropped += 1;
            }
          }
          if (events.length > 0) this.#onChange(subscription.uri);
        }
      } catch {
        // A broken stream ends the subscription like a closed one.
      }
      subscription.state = 'closed';
      if (this.#all.has(id)) this.#onChange(subscription.uri);
    })();
    this.#onChange(undefined);
    return view(subscription);
  }

  list(): SubscriptionView[] {
    return [...this.#all.values()].map(view);
  }

  /** The subscription and its events after `since` (a seq), by id or URI. */
  read(idOrUri: string, since = 0): { subscription: SubscriptionView; events: PilotEvent[] } {
    const subscription = this.#find(idOrUri);
    return { subscription: view(subscription), events: subscription.events.filter((e) => e.seq > since) };
  }

  async remove(idOrUri: string): Promise<SubscriptionView> {
    const subscription = this.#find(idOrUri);
    this.#all.delete(subscription.id);
    subscription.state = 'closed';
    await this.#node.closeDriver(subscription.driver);
    this.#onChange(undefined);
    return view(subscription);
  }

  async close(): Promise<void> {
    for (const subscription of [...this.#all.values()]) {
      this.#all.delete(subscription.id);
      await this.#node.closeDriver(subscription.driver);
    }
  }

  #find(idOrUri: string): Subscription {
    const id = idOrUri.startsWith(SUBSCRIPTION_URI_PREFIX)
      ? idOrUri.slice(SUBSCRIPTION_URI_PREFIX.length)
      : idOrUri;
    const subscription = this.#all.get(id);
    if (subscription === undefined) throw new ToolFailure('not_found', `no subscription "${idOrUri}"`);
    return subscription;
  }
}

function view(s: Subscription): SubscriptionView {
  return {
    id: s.id,
    uri: s.uri,
    peer: s.peer,
    address: s.address,
    topic: s.topic,
    state: s.state,
    received: s.received,
    dropped: s.dropped,
  };
}
