import { checkU16 } from './codec.js';

/** The well-known ports of Pilot Protocol (0–1023 are reserved for such services). */
export const WellKnownPort = {
  /** Ping / heartbeat: control packets to port 0 are answered with a pong. */
  PING: 0,
  CONTROL: 1,
  /** Every byte received on a stream is sent back. */
  ECHO: 7,
  /** Name resolution (the reference's nameserver is disabled). */
  NAMESERVER: 53,
  /** Agent HTTP, by convention. */
  HTTP: 80,
  /** Secure channel, by convention. */
  SECURE: 443,
  /** Trust handshake (JSON over a stream). */
  HANDSHAKE: 444,
  /** Stdio-style text stream: the CLI's default for connect/send/recv. */
  STDIO: 1000,
  /** Typed frames: text, binary, JSON, file. */
  DATA_EXCHANGE: 1001,
  /** Pub/sub with topic filters. */
  EVENT_STREAM: 1002,
  TASK_SUBMIT: 1003,
} as const;

export type WellKnownPort = (typeof WellKnownPort)[keyof typeof WellKnownPort];

/** Bounds of the three port classes. */
export const PortRange = {
  WELL_KNOWN_MIN: 0,
  WELL_KNOWN_MAX: 1023,
  REGISTERED_MIN: 1024,
  REGISTERED_MAX: 49151,
  EPHEMERAL_MIN: 49152,
  EPHEMERAL_MAX: 65535,
} as const;

export type PortClass = 'well-known' | 'registered' | 'ephemeral';

/** True when `port` is an integer in 0..65535. */
export function isValidPort(port: number): boolean {
  return (port & 0xffff) === port;
}

/**
 * The class of `port`: 0–1023 well-known, 1024–49151 registered, 49152–65535 ephemeral. A value that
 * is not a port is WIRE_OUT_OF_RANGE.
 */
export function portClass(port: number): PortClass {
  checkU16(port, 'port');
  if (port <= PortRange.WELL_KNOWN_MAX) return 'well-known';
  if (port < PortRange.EPHEMERAL_MIN) return 'registered';
  return 'ephemeral';
}
