import { describe, expect, it } from 'vitest';
import { isPilotError, PilotError } from '../src/errors.js';

/** What another copy of @pilot/wire in the same process builds: its own class, the same brand. */
class OtherCopyPilotError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
Object.defineProperty(OtherCopyPilotError.prototype, Symbol.for('@pilot/wire:PilotError'), { value: true });

class SubError extends PilotError {}

describe('PilotError across copies of the package', () => {
  it('recognises the PilotErrors of another copy (a bundled pilotctl and the packages it loads)', () => {
    const other = new OtherCopyPilotError('DRIVER_TIMEOUT', 'late');
    expect(other instanceof PilotError).toBe(true);
    expect(isPilotError(other, 'DRIVER_TIMEOUT')).toBe(true);
    expect(isPilotError(other, 'DRIVER_CLOSED')).toBe(false);
  });

  it('is not fooled by other errors and values, and subclasses keep the ordinary check', () => {
    expect(new Error('x') instanceof PilotError).toBe(false);
    expect(isPilotError({ code: 'WIRE_TRUNCATED', message: 'x' })).toBe(false);
    expect(isPilotError(null)).toBe(false);
    expect(isPilotError('WIRE_TRUNCATED')).toBe(false);
    expect(new PilotError('A', 'b') instanceof PilotError).toBe(true);
    expect(new SubError('A', 'b') instanceof PilotError).toBe(true);
    expect(new SubError('A', 'b') instanceof SubError).toBe(true);
    expect(new PilotError('A', 'b') instanceof SubError).toBe(false);
  });
});
