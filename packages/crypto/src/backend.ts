/**
 * The implementations of the primitives: node:crypto (OpenSSL), the pure-JS noble libraries, and
 * 'native': node:crypto with AES-256-GCM done by this package's optional addon, which keeps the key
 * schedule between packets (node:crypto builds a new cipher context for every datagram).
 */
export type BackendName = 'native' | 'node' | 'noble';

/**
 * AES-256-GCM under one key with a 16-byte tag. Nonces may be any length from 8 bytes (the tunnel
 * always uses 12); the published GCM vectors also use 8 and 60.
 */
export interface Aead {
  /** Writes ciphertext ‖ tag (`plaintext.length + 16` bytes) into `out` at `outOffset`. */
  sealInto(
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    outOffset: number,
  ): void;
  /** The plaintext, or undefined when the tag does not verify. `sealed` is ciphertext ‖ tag. */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
  /**
   * Writes the plaintext (`sealed.length - 16` bytes) into `out` at `outOffset`; false when the tag
   * does not verify (then `out` holds garbage there). `out` may be the very bytes of `sealed`
   * (decryption in place) but must not overlap it otherwise.
   */
  openInto(
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
    outOffset: number,
  ): boolean;
  /**
   * Frees the native cipher contexts this instance holds, keeping the key; the next call makes them
   * again. Absent where a backend holds nothing worth freeing.
   */
  release?(): void;
}

/**
 * The primitives a backend provides. Arguments are checked by the public functions before they get
 * here (lengths, types); a backend only turns a well-formed call into bytes, and both backends give
 * byte-identical results for every input.
 */
export interface CryptoBackend {
  readonly name: BackendName;
  /** The Ed25519 public key of a 32-byte seed (RFC 8032 "private key"). */
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  /** A 64-byte RFC 8032 signature; deterministic, so both backends give the same bytes. */
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /**
   * Raw verification of a 64-byte signature under a 32-byte key. The strict pre-checks shared by
   * both backends (`ed25519StrictReject`) run before this.
   */
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** The X25519 public key (u-coordinate) of a 32-byte private scalar. */
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  /** X25519(privateKey, publicKey); undefined when the result would be all zero (low-order point). */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined;
  /** RFC 5869 HKDF with SHA-256. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** An AES-256-GCM instance bound to a 32-byte key (key schedule cached where the backend can). */
  aes256Gcm(key: Uint8Array): Aead;
}

/** Options accepted by every function whose work a backend does. */
export interface BackendOptions {
  /** Which implementation to use; by default 'native' where built, else node:crypto, else noble. */
  readonly backend?: BackendName;
}
