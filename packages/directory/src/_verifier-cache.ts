import { createVerifier, type Verifier } from '@pilot/crypto';

const CACHE_LIMIT = 20_000;

/**
 * Verifiers by base64 public key, bounded, oldest evicted first: a registry checks many signatures
 * from the same few thousand active nodes, and a verifier keeps its imported key.
 */
export class VerifierCache {
  readonly #verifiers = new Map<string, Verifier>();

  get(publicKeyB64: string, raw: () => Uint8Array): Verifier {
    let verifier = this.#verifiers.get(publicKeyB64);
    if (verifier === undefined) {
      verifier = createVerifier(raw());
      if (this.#verifiers.size >= CACHE_LIMIT) {
        const oldest = this.#verifiers.keys().next();
        if (oldest.done !== true) this.#verifiers.delete(oldest.value);
      }
      this.#verifiers.set(publicKeyB64, verifier);
    }
    return verifier;
  }
}
