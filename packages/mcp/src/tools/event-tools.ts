import { encodeServiceEvent, formatAddress, WellKnownPort } from '@pilot/wire';
import { checkSize } from './data-tools.js';
import { writeAll } from './stream-io.js';
import {
  array,
  boolean,
  integer,
  object,
  openObject,
  PEER,
  type PilotTool,
  READ_ONLY,
  string,
} from './tool-definition.js';
import { ToolFailure } from './tool-error.js';

const TOPIC = string('the topic ("*" subscribes to every topic)', { minLength: 1, maxLength: 255 });
const SUBSCRIPTION = object(
  {
    id: string('subscription ID'),
    uri: string('MCP resource URI of its events (resources/read, resources/subscribe)'),
    peer: string('the peer as given'),
    address: string("the peer's address"),
    topic: string('topic'),
    state: string('open, or closed when the peer ended the stream', { enum: ['open', 'closed'] }),
    received: integer('events received so far'),
    dropped: integer('old events dropped from the buffer'),
  },
  ['id', 'uri', 'peer', 'address', 'topic', 'state', 'received', 'dropped'],
);
const EVENT = object(
  {
    seq: integer('sequence number within the subscription'),
    topic: string('topic'),
    data: string('payload; base64 when encoding is base64'),
    encoding: string('utf8 or base64'),
    bytes: integer('payload size'),
    received_at: string('ISO time'),
  },
  ['seq', 'topic', 'data', 'encoding', 'bytes', 'received_at'],
);

const publish: PilotTool<{ peer: string; topic: string; message: string }> = {
  name: 'pilot_publish',
  title: "Publish an event on a peer's event stream",
  description:
    "Publish an event on a topic of a peer's event stream (port 1002); every subscriber of that topic on the peer receives it.",
  inputSchema: object(
    {
      peer: PEER,
      topic: string('the topic', { minLength: 1, maxLength: 255 }),
      message: string('the payload'),
    },
    ['peer', 'topic', 'message'],
  ),
  outputSchema: object(
    { address: string("the peer's address"), topic: string('topic'), bytes: integer('payload size') },
    ['address', 'topic', 'bytes'],
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ node }, { peer, topic, message }) {
    if (topic === '*') throw new ToolFailure('invalid_argument', 'publish to a topic, not "*"');
    const payload = Buffer.from(message);
    checkSize('the message', payload.length, node.limits.maxPayloadBytes);
    const address = await node.resolve(peer);
    await node.withDriver(async (driver) => {
      const stream = await driver.dial(address, WellKnownPort.EVENT_STREAM, {
        timeoutMs: node.limits.dialTimeoutMs,
      });
      try {
        // The first event of a connection is its subscription; the second is what we publish.
        await writeAll(stream, encodeServiceEvent({ topic, payload: new Uint8Array() }));
        await writeAll(stream, encodeServiceEvent({ topic, payload }));
        await new Promise<void>((resolve) => stream.end(resolve));
      } finally {
        setTimeout(() => stream.destroy(), 1000).unref();
      }
    });
    return { address: formatAddress(address), topic, bytes: payload.length };
  },
};

const subscribe: PilotTool<{ peer: string; topic: string }> = {
  name: 'pilot_subscribe',
  title: "Subscribe to a peer's events",
  description:
    "Subscribe to a topic of a peer's event stream (port 1002). Returns at once: events collect in the background. Read them with pilot_events, or as the MCP resource at the returned uri (resources/subscribe to be notified of each new event). pilot_unsubscribe ends it.",
  inputSchema: object({ peer: PEER, topic: TOPIC }, ['peer', 'topic']),
  outputSchema: SUBSCRIPTION,
  annotations: { ...READ_ONLY, idempotentHint: false, openWorldHint: true },
  async run({ subscriptions }, { peer, topic }) {
    return { ...(await subscriptions.add(peer, topic)) };
  },
};

const events: PilotTool<{ subscription?: string; since?: number }> = {
  name: 'pilot_events',
  title: 'Events of subscriptions',
  description:
    'The events a subscription received (after seq `since`), or without a subscription the list of subscriptions. Never blocks: call again later for new events.',
  inputSchema: object({
    subscription: string('subscription ID or resource URI'),
    since: integer('only events with a larger seq (default 0)', 0),
  }),
  outputSchema: object(
    { subscriptions: array(SUBSCRIPTION), events: array(EVENT), count: integer('events returned') },
    ['subscriptions', 'events', 'count'],
  ),
  annotations: { ...READ_ONLY, openWorldHint: false },
  async run({ subscriptions }, { subscription, since }) {
    if (subscription === undefined) return { subscriptions: subscriptions.list(), events: [], count: 0 };
    const read = subscriptions.read(subscription, since ?? 0);
    return { subscriptions: [read.subscription], events: read.events, count: read.events.length };
  },
};

const unsubscribe: PilotTool<{ subscription: string }> = {
  name: 'pilot_unsubscribe',
  title: 'End a subscription',
  description: 'Close a subscription made with pilot_subscribe (its events are discarded).',
  inputSchema: object({ subscription: string('subscription ID or resource URI', { minLength: 1 }) }, [
    'subscription',
  ]),
  outputSchema: openObject({ id: string('subscription ID'), closed: boolean('true') }, ['id', 'closed']),
  annotations: { ...READ_ONLY, idempotentHint: false, openWorldHint: false },
  async run({ subscriptions }, { subscription }) {
    const removed = await subscriptions.remove(subscription);
    return { id: removed.id, closed: true };
  },
};

export const eventTools: readonly PilotTool[] = [
  publish as PilotTool,
  subscribe as PilotTool,
  events as PilotTool,
  unsubscribe as PilotTool,
];
