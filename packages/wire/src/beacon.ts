import { need, remaining, type State } from './_state.js';
import type { IpEndpoint } from './beacon-ip.js';
import { type Codec, checkU16, checkU32, decode, encode, raw, u8, u16, u32 } from './codec.js';
import { WireErrorCode, wireError } from './errors.js';

/** The first byte of a beacon message (UDP, default port 9001). Tunnel frames start at 0x50 ('P'). */
export const BeaconMessageType = {
  /** node → beacon: "what endpoint do you see me at?" (node 0 during the startup probe). */
  DISCOVER: 0x01,
  /** beacon → node: the endpoint the beacon saw. */
  DISCOVER_REPLY: 0x02,
  /** node → beacon: ask both nodes to punch towards each other. */
  PUNCH_REQUEST: 0x03,
  /** beacon → node: send punches to this endpoint now. */
  PUNCH_COMMAND: 0x04,
  /** node → beacon (and beacon → beacon): carry a tunnel frame to another node. */
  RELAY: 0x05,
  /** beacon → node: a relayed tunnel frame. */
  RELAY_DELIVER: 0x06,
  /** beacon → beacon: the nodes this beacon serves. */
  SYNC: 0x07,
} as const;

export type BeaconMessageType = (typeof BeaconMessageType)[keyof typeof BeaconMessageType];

/** Largest tunnel frame a relay message carries (the reference's bound). */
export const BEACON_MAX_RELAY_FRAME = 65_535;

export interface BeaconDiscover {
  readonly type: 'discover';
  readonly node: number;
}

export interface BeaconDiscoverReply {
  readonly type: 'discoverReply';
  readonly endpoint: IpEndpoint;
}

export interface BeaconPunchRequest {
  readonly type: 'punchRequest';
  readonly requester: number;
  readonly target: number;
}

export interface BeaconPunchCommand {
  readonly type: 'punchCommand';
  readonly endpoint: IpEndpoint;
}

export interface BeaconRelay {
  readonly type: 'relay';
  readonly source: number;
  readonly destination: number;
  /** A whole tunnel frame (PILT, PILS, PILK, PILA or PILP), not inspected here. */
  readonly frame: Uint8Array;
}

export interface BeaconRelayDeliver {
  readonly type: 'relayDeliver';
  readonly source: number;
  readonly frame: Uint8Array;
}

export interface BeaconSync {
  readonly type: 'sync';
  readonly beaconId: number;
  readonly nodes: readonly number[];
}

/** Every beacon message, told apart by `type`. */
export type BeaconMessage =
  | BeaconDiscover
  | BeaconDiscoverReply
  | BeaconPunchRequest
  | BeaconPunchCommand
  | BeaconRelay
  | BeaconRelayDeliver
  | BeaconSync;

function badValue(message: string): never {
  throw wireError(WireErrorCode.BAD_VALUE, message);
}

/** `[u8 ipLength = 4 | 16][ip][u16 port]`. */
const endpoint: Codec<IpEndpoint> = {
  preencode(state, value) {
    state.end += 1 + value.ip.length + 2;
  },
  encode(state, value) {
    const length = value.ip.length;
    if (length !== 4 && length !== 16) badValue(`an endpoint IP has 4 or 16 bytes, got ${length}`);
    checkU16(value.port, 'endpoint.port');
    u8.encode(state, length);
    state.buffer.set(value.ip, state.start);
    state.start += length;
    u16.encode(state, value.port);
  },
  decode(state) {
    const length = u8.decode(state);
    if (length !== 4 && length !== 16) badValue(`an endpoint IP has 4 or 16 bytes, got ${length}`);
    need(state, length + 2, 'endpoint');
    const ip = state.buffer.subarray(state.start, state.start + length);
    state.start += length;
    return { ip, port: u16.decode(state) };
  },
};

function relayFrame(state: State): Uint8Array {
  const frame = raw.decode(state);
  if (frame.length > BEACON_MAX_RELAY_FRAME) {
    throw wireError(
      WireErrorCode.TOO_LARGE,
      `relayed frame of ${frame.length} bytes is over ${BEACON_MAX_RELAY_FRAME}`,
    );
  }
  return frame;
}

function checkRelayFrame(frame: Uint8Array): void {
  if (frame.length > BEACON_MAX_RELAY_FRAME) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `relayed frame of ${frame.length} bytes is over ${BEACON_MAX_RELAY_FRAME}`,
    );
  }
}

/** The codec of a whole beacon message, type byte included. */
export const beaconMessage: Codec<BeaconMessage> = {
  preencode(state, message) {
    state.end += 1;
    switch (message.type) {
      case 'discover':
        state.end += 4;
        return;
      case 'discoverReply':
      case 'punchCommand':
        endpoint.preencode(state, message.endpoint);
        return;
      case 'punchRequest':
        state.end += 8;
        return;
      case 'relay':
        state.end += 8 + message.frame.length;
        return;
      case 'relayDeliver':
        state.end += 4 + message.frame.length;
        return;
      case 'sync':
        state.end += 6 + 4 * message.nodes.length;
        return;
      default:
        badValue(`unknown beacon message type ${JSON.stringify((message as { type: unknown }).type)}`);
    }
  },
  encode(state, message) {
    switch (message.type) {
      case 'discover':
        u8.encode(state, BeaconMessageType.DISCOVER);
        u32.encode(state, message.node);
        return;
      case 'discoverReply':
        u8.encode(state, BeaconMessageType.DISCOVER_REPLY);
        endpoint.encode(state, message.endpoint);
        return;
      case 'punchRequest':
        u8.encode(state, BeaconMessageType.PUNCH_REQUEST);
        u32.encode(state, message.requester);
        u32.encode(state, message.target);
        return;
      case 'punchCommand':
        u8.encode(state, BeaconMessageType.PUNCH_COMMAND);
        endpoint.encode(state, message.endpoint);
        return;
      case 'relay':
        checkRelayFrame(message.frame);
        u8.encode(state, BeaconMessageType.RELAY);
        u32.encode(state, message.source);
        u32.encode(state, message.destination);
        raw.encode(state, message.frame);
        return;
      case 'relayDeliver':
        checkRelayFrame(message.frame);
        u8.encode(state, BeaconMessageType.RELAY_DELIVER);
        u32.encode(state, message.source);
        raw.encode(state, message.frame);
        return;
      case 'sync': {
        const { nodes } = message;
        checkU16(nodes.length, 'sync node count');
        for (const node of nodes) checkU32(node, 'sync node');
        u8.encode(state, BeaconMessageType.SYNC);
        u32.encode(state, message.beaconId);
        u16.encode(state, nodes.length);
        for (const node of nodes) u32.encode(state, node);
        return;
      }
      default:
        badValue(`unknown beacon message type ${JSON.stringify((message as { type: unknown }).type)}`);
    }
  },
  decode(state) {
    const type = u8.decode(state);
    switch (type) {
      case BeaconMessageType.DISCOVER:
        return { type: 'discover', node: u32.decode(state) };
      case BeaconMessageType.DISCOVER_REPLY:
        return { type: 'discoverReply', endpoint: endpoint.decode(state) };
      case BeaconMessageType.PUNCH_REQUEST: {
        need(state, 8, 'punch request');
        const requester = u32.decode(state);
        return { type: 'punchRequest', requester, target: u32.decode(state) };
      }
      case BeaconMessageType.PUNCH_COMMAND:
        return { type: 'punchCommand', endpoint: endpoint.decode(state) };
      case BeaconMessageType.RELAY: {
        need(state, 8, 'relay header');
        const source = u32.decode(state);
        const destination = u32.decode(state);
        return { type: 'relay', source, destination, frame: relayFrame(state) };
      }
      case BeaconMessageType.RELAY_DELIVER: {
        const source = u32.decode(state);
        return { type: 'relayDeliver', source, frame: relayFrame(state) };
      }
      case BeaconMessageType.SYNC: {
        need(state, 6, 'sync header');
        const beaconId = u32.decode(state);
        const count = u16.decode(state);
        if (remaining(state) !== 4 * count) {
          throw wireError(
            WireErrorCode.LENGTH_MISMATCH,
            `sync announces ${count} nodes (${4 * count} bytes), ${remaining(state)} bytes follow`,
          );
        }
        const nodes: number[] = new Array<number>(count);
        for (let i = 0; i < count; i++) nodes[i] = u32.decode(state);
        return { type: 'sync', beaconId, nodes };
      }
      default:
        return badValue(`unknown beacon message type 0x${type.toString(16).padStart(2, '0')}`);
    }
  },
};

/** The datagram of `message`. Out-of-range numbers are WIRE_OUT_OF_RANGE, a bad IP length WIRE_BAD_VALUE. */
export function encodeBeaconMessage(message: BeaconMessage): Uint8Array {
  return encode(beaconMessage, message);
}

/**
 * The message held in one datagram. It must fill the datagram exactly: short is WIRE_TRUNCATED, extra
 * bytes are WIRE_LENGTH_MISMATCH, an unknown type or IP length is WIRE_BAD_VALUE. Relayed frames and
 * endpoint IPs are views of `bytes`.
 */
export function decodeBeaconMessage(bytes: Uint8Array): BeaconMessage {
  return decode(beaconMessage, bytes);
}

/**
 * True when a datagram on the shared UDP socket looks like a beacon message (its first byte is a
 * beacon type) rather than a tunnel frame; a cheap demultiplexing test, not a validation.
 */
export function isBeaconMessage(bytes: Uint8Array): boolean {
  const first = bytes[0];
  return first !== undefined && first >= BeaconMessageType.DISCOVER && first <= BeaconMessageType.SYNC;
}
