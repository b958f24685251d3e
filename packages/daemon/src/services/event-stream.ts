import { encodeServiceEvent, type ServiceEvent, ServiceEventDecoder } from '@pilot/wire';
import type { ServiceContext, ServiceStream } from './service-context.js';

/** A subscriber whose unsent backlog passes this is dropped rather than let memory grow. */
const MAX_BACKLOG = 8 * 1024 * 1024;

interface Subscriber {
  readonly served: ServiceStream;
  topic: string | undefined;
}

/** True when a subscription `filter` takes events of `topic`: `*` all, `a.*` a namespace, else exact. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === '*' || filter === topic) return true;
  if (filter.endsWith('.*')) return topic.startsWith(filter.slice(0, -1));
  return false;
}

/**
 * Event stream (port 1002): binary events `[u16 topicLen][topic][u32 len][payload]`. The first event
 * on a connection is its subscription (`*` = all, `ns.*` = a namespace); every later event is
 * published to the other subscribers whose filter matches. The sender does not get its own events.
 */
export class EventBroker {
  readonly #subscribers = new Set<Subscriber>();
  readonly #context: ServiceContext;
  published = 0;
  delivered = 0;

  constructor(context: ServiceContext) {
    this.#context = context;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  topics(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.#subscribers) if (s.topic !== undefined) out[s.topic] = (out[s.topic] ?? 0) + 1;
    return out;
  }

  serve(served: ServiceStream): void {
    const { stream, remote } = served;
    const subscriber: Subscriber = { served, topic: undefined };
    this.#subscribers.add(subscriber);
    const decoder = new ServiceEventDecoder();
    stream.on('data', (chunk: Uint8Array) => {
      let events: ServiceEvent[];
      try {
        events = decoder.push(chunk);
      } catch {
        stream.destroy();
        return;
      }
      for (const event of events) {
        if (subscriber.topic === undefined) {
          subscriber.topic = event.topic;
          this.#context.emit('pubsub.subscribed', { from: remote, topic: event.topic });
          continue;
        }
        this.publish(event, subscriber);
      }
    });
    const drop = (): void => {
      if (this.#subscribers.delete(subscriber) && subscriber.topic !== undefined)
        this.#context.emit('pubsub.unsubscribed', { from: remote, topic: subscriber.topic });
    };
    stream.on('end', () => {
      drop();
      stream.end();
    });
    stream.on('error', () => drop());
    stream.on('close', drop);
  }

  /** Sends `event` to every matching subscriber but `from`. */
  publish(event: ServiceEvent, from?: Subscriber): void {
    this.published++;
    const bytes = encodeServiceEvent(event);
    let count = 0;
    for (const subscriber of this.#subscribers) {
      if (subscriber === from || subscriber.topic === undefined) continue;
      if (!topicMatches(subscriber.topic, event.topic)) continue;
      const stream = subscriber.served.stream;
      if (stream.writableLength > MAX_BACKLOG) {
        this.#context.log.warn('dropping a slow event subscriber', { peer: subscriber.served.remote });
        stream.destroy();
        continue;
      }
      stream.write(bytes);
      count++;
    }
    this.delivered += count;
    this.#context.emit('pubsub.published', {
      from: from?.served.remote,
      topic: event.topic,
      bytes: event.payload.length,
      subscribers: count,
    });
  }

  close(): void {
    for (const subscriber of this.#subscribers) subscriber.served.stream.end();
    this.#subscribers.clear();
  }
}
