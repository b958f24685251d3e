import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity } from '@pilot/crypto';
import { createSigner, signerFromIdentity, toBase64 } from '@pilot/directory/client';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyPins } from './key-pins.js';
import { createLogger } from './logger.js';
import type { RegistrySession } from './registry-session.js';
import { TrustManager } from './trust.js';
import { TrustStore } from './trust-store.js';

const dirs: string[] = [];
const managers: TrustManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A trust manager whose registry is a stub and whose peers cannot be reached directly (relay only). */
function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'pilot-trust-'));
  dirs.push(dir);
  const identity = generateIdentity();
  const store = new TrustStore(join(dir, 'trust.json'));
  const log = createLogger('error', 'json', () => {});
  const peerKey = toBase64(createSigner().publicKey);
  const client = {
    lookup: async () => ({ publicKey: peerKey }),
    requestHandshake: async () => {},
    respondHandshake: async () => {},
    reportTrust: async () => {},
    revokeTrust: async () => {},
  };
  const session = {
    signer: signerFromIdentity(identity),
    call: <T>(operation: (c: typeof client) => Promise<T>) => operation(client),
  } as unknown as RegistrySession;
  const trust = new TrustManager({
    identity,
    store,
    keyPins: new KeyPins(store, log, () => {}),
    session,
    log,
    autoApprove: false,
    nodeId: () => 1,
    sendDirect: () => Promise.reject(new Error('unreachable')),
    onRevoked: () => {},
    emit: () => {},
  });
  managers.push(trust);
  return { trust, store };
}

describe('TrustManager: what the registry relays', () => {
  // The attack: a peer (a reference daemon here, in the interop suite) rejects our request and then
  // asks us itself; both are relayed and come in one poll. Requests first made its request look like
  // the second half of a mutual handshake, and it was trusted without our approval.
  it('applies a rejection before a new request from the same peer: the request waits in pending', async () => {
    const { trust, store } = setup();
    await trust.request(2, 'may I?');
    expect(store.outgoing.has(2)).toBe(true);
    await trust.onPoll({
      requests: [{ from_node_id: 2, justification: 'no, but may I?' }],
      responses: [{ from_node_id: 2, accept: false }],
    });
    expect(store.isTrusted(2)).toBe(false);
    expect(store.outgoing.has(2)).toBe(false);
    expect(store.pending.get(2)?.justification).toBe('no, but may I?');
  });

  it('still trusts at once when the relayed request crosses ours (mutual) and no rejection came', async () => {
    const { trust, store } = setup();
    await trust.request(2, 'may I?');
    await trust.onPoll({ requests: [{ from_node_id: 2, justification: 'and may I?' }], responses: [] });
    expect(store.isTrusted(2)).toBe(true);
  });
});
