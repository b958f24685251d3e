import { describe, expect, it } from 'vitest';
import type { Context } from '../src/context.js';
import { registryAddress } from '../src/registry.js';

// Only what registryAddress reads of a Context: the daemon's Info, the config and the environment.
function contextWith(info: Record<string, unknown>): Context {
  return { info: async () => info, config: {}, io: { env: {} } } as unknown as Context;
}

describe('the registry pilotctl dials', () => {
  it('is the one a failing-over daemon is on now, not its whole --registry list', async () => {
    const context = contextWith({
      registry: '127.0.0.1:9000,127.0.0.1:9100',
      registry_active: '127.0.0.1:9100',
    });
    expect(await registryAddress(context)).toBe('127.0.0.1:9100');
  });

  it('is the first of the list when the daemon reports none active (an older daemon)', async () => {
    const context = contextWith({ registry: '127.0.0.1:9000,127.0.0.1:9100' });
    expect(await registryAddress(context)).toBe('127.0.0.1:9000');
  });

  it('is the flag when one is given', async () => {
    const context = contextWith({ registry: '127.0.0.1:9000', registry_active: '127.0.0.1:9000' });
    expect(await registryAddress(context, '10.0.0.1:9000')).toBe('10.0.0.1:9000');
  });
});
