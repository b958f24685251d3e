import { createHash, timingSafeEqual } from 'node:crypto';
import { VerifierCache } from '../_verifier-cache.js';
import { fromBase64 } from '../base64.js';
import { DirErrorCode, dirError } from '../errors.js';
import { freshSignedText, SIGNED_VALUES_VERSION, valuesDigest, valuesSignedText } from '../signed-text.js';
import type { DirectoryStore, NodeRecord } from '../store/directory-store.js';
import type { Request } from './fields.js';
import { type SignatureClaim, sameClaim } from './signature-claim.js';

const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const encoder = new TextEncoder();

export type AuthenticatorOptions = {
  /** Accept the reference's replayable challenges for nodes that never signed freshly. */
  readonly acceptLegacySignatures: boolean;
  /** How far a fresh signature's timestamp may be from the server clock, in ms. */
  readonly freshnessWindowMs: number;
  readonly adminToken: string | undefined;
};

/** How a request proved itself. */
export type Proof = 'fresh' | 'legacy' | 'admin';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Checks the `signature` (and `timestamp` + `nonce`, in the fresh form) of a request against a key.
 * A fresh signature is accepted once: its nonce is stored, scoped to the signer, until the timestamp
 * leaves the window, so that a captured request cannot be played again.
 */
/**
 * What a fresh signature of this request covers: version 2 (`signature_version: 2`) covers its
 * values too; absent, the fresh form. A man in the middle cannot move a version-2 signature to the
 * fresh form or back: the texts differ, so the signature no longer verifies.
 */
export function signedText(request: Request, challenge: string, timestamp: number, nonce: string): string {
  const version = request.signature_version;
  if (version === undefined || version === null) return freshSignedText(challenge, timestamp, nonce);
  if (version !== SIGNED_VALUES_VERSION)
    throw dirError(
      DirErrorCode.BAD_REQUEST,
      `invalid request: signature_version ${String(version)} is not known`,
    );
  return valuesSignedText(challenge, timestamp, nonce, valuesDigest(request));
}

export class Authenticator {
  readonly #store: DirectoryStore;
  readonly #options: AuthenticatorOptions;
  readonly #verifiers = new VerifierCache();
  readonly #adminDigest: Buffer | undefined;
  /** A signature already checked off the event loop for the request now running (see `trusting`). */
  #confirmed: SignatureClaim | undefined;

  constructor(store: DirectoryStore, options: AuthenticatorOptions) {
    this.#store = store;
    this.#options = options;
    this.#adminDigest = options.adminToken === undefined ? undefined : digest(options.adminToken);
  }

  /**
   * Runs `fn` (one request, synchronously) knowing that `claim` was already checked by the server's
   * verification workers, so that the same signature is not checked twice. Everything else (the
   * freshness window, the nonce, the key the record holds) is still checked.
   */
  trusting<T>(claim: SignatureClaim | undefined, fn: () => T): T {
    if (claim === undefined) return fn();
    this.#confirmed = claim;
    try {
      return fn();
    } finally {
      this.#confirmed = undefined;
    }
  }

  /** True when the request carries the registry's admin token (compared in constant time). */
  isAdmin(request: Request): boolean {
    const token = request.admin_token;
    if (this.#adminDigest === undefined || typeof token !== 'string' || token.length === 0) return false;
    return timingSafeEqual(digest(token), this.#adminDigest);
  }

  /**
   * Verifies the request's signature by `publicKey` over `challenge`. `scope` names the signer for
   * replay tracking; `freshOnly` refuses the legacy form for a signer known to sign freshly.
   */
  verify(
    request: Request,
    publicKey: string,
    challenge: string,
    scope: string,
    freshOnly: boolean,
    now: number,
  ): Proof {
    const signature = request.signature;
    if (signature === undefined || signature === null || signature === '') {
      throw dirError(DirErrorCode.SIGNATURE_REQUIRED, 'signature required');
    }
    if (typeof signature !== 'string')
      throw dirError(DirErrorCode.BAD_REQUEST, 'invalid request: signature must be a string');
    const sigBytes = fromBase64(signature, 64, 'signature');
    const timestamp = request.timestamp;
    const nonce = request.nonce;
    const fresh = timestamp !== undefined || nonce !== undefined;
    let text: string;
    if (fresh) {
      if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp)) {
        throw dirError(
          DirErrorCode.BAD_REQUEST,
          'invalid request: timestamp must be an integer (unix seconds)',
        );
      }
      if (typeof nonce !== 'string' || !NONCE.test(nonce)) {
        throw dirError(
          DirErrorCode.BAD_REQUEST,
          'invalid request: nonce must be 16 to 64 base64url characters',
        );
      }
      if (Math.abs(timestamp * 1000 - now) > this.#options.freshnessWindowMs) {
        throw dirError(
          DirErrorCode.STALE_SIGNATURE,
          'invalid signature: timestamp outside the accepted window',
        );
      }
      text = signedText(request, challenge, timestamp, nonce);
    } else {
      if (!this.#options.acceptLegacySignatures || freshOnly) {
        throw dirError(
          DirErrorCode.FRESHNESS_REQUIRED,
          'signature timestamp and nonce required: replayable challenges are refused for this node',
        );
      }
      text = challenge;
    }
    const confirmed = this.#confirmed;
    const already =
      confirmed !== undefined && sameClaim(confirmed, { publicKey, text, signature: signature });
    if (!already) {
      const verifier = this.#verifiers.get(publicKey, () => this.#rawKey(publicKey));
      if (!verifier.verify(sigBytes, encoder.encode(text))) {
        throw dirError(DirErrorCode.BAD_SIGNATURE, 'invalid signature');
      }
    }
    if (fresh) {
      // Kept past the window's far edge so the same (signer, nonce) cannot be accepted again.
      const expiresAt = (timestamp as number) * 1000 + this.#options.freshnessWindowMs + 1000;
      if (!this.#store.rememberNonce(scope, nonce as string, expiresAt)) {
        throw dirError(DirErrorCode.REPLAYED, 'invalid signature: already used (replay)');
      }
      return 'fresh';
    }
    return 'legacy';
  }

  /**
   * Authorises a request acting for `node`: the admin token, or the node's own signature. A first
   * fresh signature marks the node fresh-only, so its legacy signatures are refused from then on.
   */
  authorise(request: Request, node: NodeRecord, challenge: string, now: number): Proof {
    if (this.isAdmin(request)) return 'admin';
    const proof = this.verify(request, node.publicKey, challenge, `n:${node.nodeId}`, node.freshOnly, now);
    if (proof === 'fresh' && !node.freshOnly) this.#store.updateNode(node.nodeId, { freshOnly: true });
    return proof;
  }

  #rawKey(publicKey: string): Uint8Array {
    try {
      return fromBase64(publicKey, 32, 'public key');
    } catch {
      throw dirError(DirErrorCode.BAD_SIGNATURE, 'invalid signature: the registered key is malformed');
    }
  }
}
