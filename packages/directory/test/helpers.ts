import {
  createSigner,
  type DirectorySigner,
  RegistryHandler,
  type RegistryOptions,
  type Reply,
  type SignatureFields,
  SqliteDirectoryStore,
  signChallenge,
  toBase64,
} from '../src/index.js';

export type FakeClock = { now: number; advance(ms: number): void };

export type TestRegistry = {
  readonly handler: RegistryHandler;
  readonly store: SqliteDirectoryStore;
  readonly clock: FakeClock;
  /** Sends a request; returns the reply. */
  send(request: Record<string, unknown>): Reply;
  /** Sends a request that must succeed with `<type>_ok`. */
  ok(request: Record<string, unknown>): Reply;
  /** A fresh signature at the registry's clock. */
  sign(signer: DirectorySigner, challenge: string, legacy?: boolean): SignatureFields;
  /** Registers a new node with a fresh proof-of-possession; returns its id and signer. */
  node(extra?: Record<string, unknown>): { id: number; signer: DirectorySigner };
  close(): void;
};

export function testRegistry(options: RegistryOptions = {}): TestRegistry {
  const store = new SqliteDirectoryStore({ path: ':memory:' });
  const clock: FakeClock = {
    now: 1_700_000_000_000,
    advance(ms: number) {
      this.now += ms;
    },
  };
  const handler = new RegistryHandler(store, { now: () => clock.now, ...options }, (error) => {
    throw error;
  });
  const send = (request: Record<string, unknown>): Reply =>
    handler.handle(request, { remoteAddress: '203.0.113.7', remotePort: 40000 });
  const sign = (signer: DirectorySigner, challenge: string, legacy = false): SignatureFields =>
    signChallenge(signer, challenge, { legacy, nowMs: clock.now });
  const ok = (request: Record<string, unknown>): Reply => {
    const reply = send(request);
    if (reply.type !== `${String(request.type)}_ok`) {
      throw new Error(`expected ${String(request.type)}_ok, got ${JSON.stringify(reply)}`);
    }
    return reply;
  };
  return {
    handler,
    store,
    clock,
    send,
    ok,
    sign,
    node(extra = {}) {
      const signer = createSigner();
      const publicKey = toBase64(signer.publicKey);
      const reply = ok({
        type: 'register',
        public_key: publicKey,
        listen_addr: ':4000',
        ...sign(signer, `register:${publicKey}`),
        ...extra,
      });
      return { id: reply.node_id as number, signer };
    },
    close() {
      store.close();
    },
  };
}
