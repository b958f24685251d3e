import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPilotError } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSelfSignedCertificate,
  createSigner,
  DirErrorCode,
  DirectoryClient,
  KnownRegistries,
  probeRegistryTransport,
  resolveRegistryLink,
} from '../src/index.js';
import { RawPeer, type RunningServer, runServer } from './tcp-helpers.js';

let running: RunningServer | undefined;
const closers: (() => void)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await running?.close();
  running = undefined;
});

async function client(port: number, extra: Partial<Parameters<typeof DirectoryClient.connect>[0]> = {}) {
  const c = await DirectoryClient.connect({ host: '127.0.0.1', port, reconnectAttempts: 1, ...extra });
  closers.push(() => c.close());
  return c;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isPilotError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('self-signed certificate', () => {
  it('is a P-256 certificate node:crypto parses, whose fingerprint is the SHA-256 of its DER', () => {
    const made = createSelfSignedCertificate();
    const parsed = new X509Certificate(made.cert);
    expect(parsed.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(made.fingerprint);
    expect(parsed.subject).toContain('O=Pilot Protocol');
    expect(parsed.subjectAltName).toContain('DNS:localhost');
    expect(parsed.verify(parsed.publicKey)).toBe(true);
    expect(new Date(parsed.validTo).getTime()).toBeGreaterThan(Date.now() + 9 * 365 * 86_400_000);
  });
});

describe('TLS and plaintext on one port', () => {
  it('serves a pinned TLS client and a plaintext client side by side; the probe tells them apart', async () => {
    const tls = createSelfSignedCertificate();
    running = await runServer({ tls: { key: tls.key, cert: tls.cert } });
    const port = running.server.port;
    const secure = await client(port, { tls: { pin: tls.fingerprint } });
    const plain = await client(port);
    expect((await secure.register(createSigner())).nodeId).toBe(1);
    expect((await plain.register(createSigner())).nodeId).toBe(2);
    expect(await probeRegistryTransport('127.0.0.1', port, 3000)).toEqual({
      tls: true,
      fingerprint: tls.fingerprint,
    });
  });

  it('requireTls hangs up on a plaintext client before it reads a request', async () => {
    const tls = createSelfSignedCertificate();
    running = await runServer({ tls: { key: tls.key, cert: tls.cert }, requireTls: true });
    const peer = await RawPeer.open(running.server.port);
    closers.push(() => peer.close());
    peer.sendJson({ type: 'lookup', node_id: 1 });
    await expect(peer.reply()).rejects.toThrow('closed before a reply');
    const secure = await client(running.server.port, { tls: { pin: tls.fingerprint } });
    expect((await secure.register(createSigner())).nodeId).toBe(1);
  });

  it('trust on first use: verify sees the fingerprint before any request and can refuse', async () => {
    const tls = createSelfSignedCertificate();
    running = await runServer({ tls: { key: tls.key, cert: tls.cert } });
    const seen: string[] = [];
    const c = await client(running.server.port, { tls: { verify: (fp) => void seen.push(fp) } });
    await c.register(createSigner());
    expect(seen).toEqual([tls.fingerprint]);
    const refused = await codeOf(
      client(running.server.port, {
        tls: {
          verify: () => {
            throw Object.assign(new Error('changed'), { code: 'X' });
          },
        },
      }),
    );
    expect(refused).toBe(DirErrorCode.CONNECTION);
  });

  it('the probe calls a plaintext registry plaintext', async () => {
    running = await runServer();
    expect(await probeRegistryTransport('127.0.0.1', running.server.port, 3000)).toEqual({ tls: false });
  });
});

describe('registry link: pinned, remembered, first use, plaintext', () => {
  it('trusts the first certificate, remembers it, refuses a new one with a clear error, and never falls back to plaintext', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pilot-known-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const knownFile = join(dir, 'known_registries.json');
    const first = createSelfSignedCertificate();
    running = await runServer({ tls: { key: first.key, cert: first.cert } });
    const port = running.server.port;
    const link = await resolveRegistryLink({ host: '127.0.0.1', port, knownFile });
    expect(link.mode).toBe('tls');
    expect(link.pinSource).toBe('first-use');
    const c = await client(port, { ...(link.tls === undefined ? {} : { tls: link.tls }) });
    await c.register(createSigner());
    expect(link.fingerprint).toBe(first.fingerprint);
    expect(new KnownRegistries(knownFile).get(`127.0.0.1:${port}`)?.fingerprint).toBe(first.fingerprint);
    c.close();

    // The registry (or someone in its place) now shows another certificate on the same address.
    await running.close();
    const other = createSelfSignedCertificate();
    running = await runServer({ tls: { key: other.key, cert: other.cert }, port });
    const again = await resolveRegistryLink({ host: '127.0.0.1', port, knownFile });
    expect(again.pinSource).toBe('remembered');
    let message = '';
    try {
      await client(port, { ...(again.tls === undefined ? {} : { tls: again.tls }) });
    } catch (error) {
      expect(isPilotError(error, DirErrorCode.PIN_MISMATCH)).toBe(true);
      message = (error as Error).message;
    }
    expect(message).toContain('someone may be in the middle');
    expect(message).toContain(first.fingerprint);

    // And a plaintext registry on that address is not taken for it either: still TLS, still pinned.
    await running.close();
    running = await runServer({ port });
    const downgraded = await resolveRegistryLink({ host: '127.0.0.1', port, knownFile });
    expect(downgraded.mode).toBe('tls');
    expect(
      await codeOf(client(port, { ...(downgraded.tls === undefined ? {} : { tls: downgraded.tls }) })),
    ).toBe(DirErrorCode.CONNECTION);
    // Only where asked for is it plaintext; a given fingerprint is TLS pinned to it.
    expect((await resolveRegistryLink({ host: '127.0.0.1', port, knownFile, tls: false })).mode).toBe(
      'plaintext',
    );
    expect(
      await resolveRegistryLink({ host: '127.0.0.1', port, fingerprint: first.fingerprint.toUpperCase() }),
    ).toMatchObject({ mode: 'tls', pinSource: 'given', fingerprint: first.fingerprint });
  });

  it('a never-seen plaintext registry is plaintext unless TLS is required', async () => {
    running = await runServer();
    const port = running.server.port;
    const notices: string[] = [];
    const link = await resolveRegistryLink({ host: '127.0.0.1', port, onNotice: (m) => notices.push(m) });
    expect(link.mode).toBe('plaintext');
    expect(notices[0]).toContain('does not speak TLS');
    const required = await resolveRegistryLink({ host: '127.0.0.1', port, tls: true });
    expect(await codeOf(client(port, { ...(required.tls === undefined ? {} : { tls: required.tls }) }))).toBe(
      DirErrorCode.CONNECTION,
    );
  });
});
