import { createHash, randomBytes } from 'node:crypto';
import { generateIdentity, type Identity, identityFromSeed, sign } from '@pilot/crypto';
import { toBase64 } from './base64.js';

/** What signs directory requests: an Ed25519 public key and a signing function over raw bytes. */
export type DirectorySigner = {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
};

/** The signer of a @pilot/crypto identity (a node's Ed25519 key). */
export function signerFromIdentity(identity: Identity): DirectorySigner {
  return { publicKey: identity.publicKey, sign: (message) => sign(identity, message) };
}

/** A signer from a 32-byte Ed25519 seed, or a fresh random identity when omitted. */
export function createSigner(seed?: Uint8Array): DirectorySigner {
  return signerFromIdentity(seed === undefined ? generateIdentity() : identityFromSeed(seed));
}

/**
 * The reference registry's challenge strings (IDs in decimal), plus ours for the operations the
 * reference does not sign. Signing one of these alone is the replayable "legacy" form; our clients
 * sign `freshSignedText(challenge, timestamp, nonce)` instead.
 */
export const Challenge = {
  register: (publicKeyB64: string): string => `register:${publicKeyB64}`,
  heartbeat: (id: number): string => `heartbeat:${id}`,
  resolve: (requester: number, target: number): string => `resolve:${requester}:${target}`,
  deregister: (id: number): string => `deregister:${id}`,
  setVisibility: (id: number): string => `set_visibility:${id}`,
  setHostname: (id: number): string => `set_hostname:${id}`,
  setTags: (id: number): string => `set_tags:${id}`,
  reportTrust: (a: number, b: number): string => `report_trust:${a}:${b}`,
  revokeTrust: (a: number, b: number): string => `revoke_trust:${a}:${b}`,
  punch: (a: number, b: number): string => `punch:${a}:${b}`,
  pollHandshakes: (id: number): string => `poll_handshakes:${id}`,
  requestHandshake: (from: number, to: number): string => `handshake:${from}:${to}`,
  respondHandshake: (node: number, peer: number): string => `respond:${node}:${peer}`,
  createNetwork: (id: number, name: string): string => `create_network:${id}:${name}`,
  joinNetwork: (id: number, network: number): string => `join_network:${id}:${network}`,
  leaveNetwork: (id: number, network: number): string => `leave_network:${id}:${network}`,
  invite: (inviter: number, network: number, target: number): string =>
    `invite:${inviter}:${network}:${target}`,
  pollInvites: (id: number): string => `poll_invites:${id}`,
  respondInvite: (id: number, network: number): string => `respond_invite:${id}:${network}`,
  rotateKey: (id: number): string => `rotate:${id}`,
  /**
   * Ours: what the old key signs to hand node `id` to `newKey` (base64). Unlike the reference's
   * `rotate:<id>`, it names the new key, so peers can check a rotation themselves and nobody can
   * reuse the proof for another key. Sent as `rotation_proof` with rotate_key (and with register,
   * for owner recovery); the registry shows it in lookup.
   */
  rotationProof: (id: number, newKey: string): string => `rotate:${id}:${newKey}`,
  find: (requester: number): string => `find:${requester}`,
  resolveHostname: (requester: number, hostname: string): string =>
    `resolve_hostname:${requester}:${hostname}`,
  listNodes: (requester: number, network: number): string => `list_nodes:${requester}:${network}`,
  /** Ours (`birthday` extension): an intent towards `peer`, or (peer 0) who asked for us. */
  birthday: (requester: number, peer: number): string => `birthday:${requester}:${peer}`,
} as const;

/**
 * The text a fresh signature covers: `<challenge>:<timestamp>:<nonce>`, with the timestamp in unix
 * seconds (decimal) and the nonce 16–64 characters of base64url. The server accepts it once per
 * (signer, nonce) and only while the timestamp is within its window (±60 s by default).
 */
export function freshSignedText(challenge: string, timestamp: number, nonce: string): string {
  return `${challenge}:${timestamp}:${nonce}`;
}

/**
 * The values a version-2 signature covers, per operation: the fields whose change would matter
 * (a hostname, tags, visibility, a join token, the new key of a rotation, …). The challenge names
 * only the operation and the IDs; these are what a man in the middle would otherwise rewrite.
 */
export const SIGNED_VALUE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  register: ['listen_addr', 'owner', 'email', 'hostname', 'lan_addrs', 'rotation_proof'],
  set_hostname: ['hostname'],
  set_tags: ['tags'],
  set_visibility: ['public'],
  set_task_exec: ['enabled'],
  join_network: ['token', 'inviter_id'],
  create_network: ['join_rule', 'token'],
  rotate_key: ['new_public_key', 'rotation_proof'],
  request_handshake: ['justification'],
  respond_handshake: ['accept'],
  respond_invite: ['accept'],
};

/**
 * Values added by later registry extensions (e.g. `tunnel-capabilities`). They join the digest as
 * `name, value` pairs only when the request carries them, so a request without them digests exactly
 * as version 2 always did: daemons and registries of earlier pilot-ts releases keep verifying each
 * other. Their presence is still covered: adding or stripping one on the path changes the digest.
 */
export const SIGNED_EXTENSION_VALUE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  register: ['tunnel_capabilities'],
};

/** The signature version that covers values. */
export const SIGNED_VALUES_VERSION = 2;

/** SHA-256 (base64url) of the request's type and its signed values, in the table's order (absent: null), then the extension values it carries. */
export function valuesDigest(request: Readonly<Record<string, unknown>>): string {
  const type = typeof request.type === 'string' ? request.type : '';
  const fields = SIGNED_VALUE_FIELDS[type] ?? [];
  const extensions = (SIGNED_EXTENSION_VALUE_FIELDS[type] ?? []).flatMap((field) =>
    request[field] === undefined ? [] : [field, request[field]],
  );
  const canonical = JSON.stringify([type, ...fields.map((field) => request[field] ?? null), ...extensions]);
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The text a version-2 signature covers: `<challenge>:<timestamp>:<nonce>:v2:<values digest>`. */
export function valuesSignedText(
  challenge: string,
  timestamp: number,
  nonce: string,
  digest: string,
): string {
  return `${freshSignedText(challenge, timestamp, nonce)}:v2:${digest}`;
}

/** The signature fields a request carries. `timestamp` and `nonce` are absent in the legacy form. */
export type SignatureFields = {
  signature: string;
  timestamp?: number;
  nonce?: string;
  signature_version?: number;
};

const encoder = new TextEncoder();

/** A fresh signature over `challenge` (default) or, with `legacy: true`, the replayable reference form. */
export function signChallenge(
  signer: DirectorySigner,
  challenge: string,
  options: {
    readonly legacy?: boolean;
    readonly nowMs?: number;
    /** The request (its type and values): signs version 2, covering its values. */
    readonly values?: Readonly<Record<string, unknown>>;
  } = {},
): SignatureFields {
  if (options.legacy === true) {
    return { signature: toBase64(signer.sign(encoder.encode(challenge))) };
  }
  const timestamp = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const nonce = randomBytes(16).toString('base64url');
  if (options.values !== undefined) {
    const text = valuesSignedText(challenge, timestamp, nonce, valuesDigest(options.values));
    const signature = toBase64(signer.sign(encoder.encode(text)));
    return { signature, timestamp, nonce, signature_version: SIGNED_VALUES_VERSION };
  }
  const signature = toBase64(signer.sign(encoder.encode(freshSignedText(challenge, timestamp, nonce))));
  return { signature, timestamp, nonce };
}
