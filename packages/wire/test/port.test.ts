import { describe, expect, it } from 'vitest';
import { isValidPort, PortRange, portClass, WellKnownPort } from '../src/index.js';
import { expectWireError } from './expect-wire.js';

describe('ports', () => {
  it('has the spec well-known ports', () => {
    expect(WellKnownPort).toEqual({
      PING: 0,
      CONTROL: 1,
      ECHO: 7,
      NAMESERVER: 53,
      HTTP: 80,
      SECURE: 443,
      HANDSHAKE: 444,
      STDIO: 1000,
      DATA_EXCHANGE: 1001,
      EVENT_STREAM: 1002,
      TASK_SUBMIT: 1003,
    });
  });

  it('classifies ports', () => {
    expect(portClass(0)).toBe('well-known');
    expect(portClass(1023)).toBe('well-known');
    expect(portClass(1024)).toBe('registered');
    expect(portClass(49_151)).toBe('registered');
    expect(portClass(PortRange.EPHEMERAL_MIN)).toBe('ephemeral');
    expect(portClass(65_535)).toBe('ephemeral');
    expect(PortRange.EPHEMERAL_MIN).toBe(49_152);
    expectWireError(() => portClass(65_536), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => portClass(-1), 'WIRE_OUT_OF_RANGE');
  });

  it('validates ports', () => {
    expect(isValidPort(0)).toBe(true);
    expect(isValidPort(65_535)).toBe(true);
    for (const bad of [-1, 65_536, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(isValidPort(bad)).toBe(false);
  });
});
