import { describe, expect, it } from 'vitest';
import { runQuickstart } from '../src/quickstart.js';

describe('quick start', () => {
  it('brings up a rendezvous and two daemons that find, trust, ping and send a file to each other', async () => {
    const lines: string[] = [];
    const result = await runQuickstart({ log: (line) => lines.push(line), fileBytes: 1024 * 1024 });
    expect(result.hiddenBeforeTrust).toBe(true);
    expect(result.found).toBe(result.beta.address);
    expect(result.ping.replies).toBeGreaterThan(0);
    expect(result.ping.path).toBe('direct');
    expect(result.file).toMatchObject({ bytes: 1024 * 1024, arrivedIntact: true });
    expect(lines.length).toBeGreaterThan(5);
  }, 120_000);
});
