import { decodeBase64, encodeBase64 } from './_base64.js';
import { checkBytes, equalBytes } from './_bytes.js';
import type { BackendOptions } from './backend.js';
import { CryptoErrorCode, cryptoError } from './errors.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SEED_SIZE, type Identity, identityFromSeed } from './identity.js';

const GO_PRIVATE_KEY_SIZE = ED25519_SEED_SIZE + ED25519_PUBLIC_KEY_BYTES;

function bad(message: string, cause?: unknown): never {
  throw cryptoError(CryptoErrorCode.BAD_IDENTITY, `identity file: ${message}`, cause);
}

/**
 * The daemon's identity file (reference `-identity <path>`, pilotctl's ~/.pilot/identity.json):
 * `{"private_key": base64(seed ‖ public key), "public_key": base64(public key)}`, standard base64
 * with padding as Go's encoding/json writes []byte. Written with two-space indentation and a final
 * newline; the daemon stores it with mode 0600 (that is the writer's job, not ours).
 */
export function encodeIdentityFile(identity: Identity): string {
  checkBytes(identity?.seed, ED25519_SEED_SIZE, 'identity.seed');
  checkBytes(identity.publicKey, ED25519_PUBLIC_KEY_BYTES, 'identity.publicKey');
  const goPrivate = new Uint8Array(GO_PRIVATE_KEY_SIZE);
  goPrivate.set(identity.seed, 0);
  goPrivate.set(identity.publicKey, ED25519_SEED_SIZE);
  const text = JSON.stringify(
    { private_key: encodeBase64(goPrivate), public_key: encodeBase64(identity.publicKey) },
    null,
    2,
  );
  goPrivate.fill(0);
  return `${text}\n`;
}

function field(record: Record<string, unknown>, name: string, size: number): Uint8Array {
  const value = record[name];
  if (typeof value !== 'string') bad(`"${name}" must be a base64 string`);
  const bytes = decodeBase64(value);
  if (bytes === undefined) bad(`"${name}" is not canonical base64`);
  if (bytes.length !== size) bad(`"${name}" must decode to ${size} bytes, got ${bytes.length}`);
  return bytes;
}

/**
 * Reads an identity file. Anything but a JSON object with both fields in canonical base64 and of
 * the right lengths is CRYPTO_BAD_IDENTITY, as is a file whose three copies of the public key (in
 * "public_key", in the second half of "private_key", and the one the seed derives) disagree: the
 * reference daemon refuses such a file too. Unknown extra fields are ignored.
 */
export function decodeIdentityFile(text: string, options?: BackendOptions): Identity {
  if (typeof text !== 'string') bad(`expected text, got ${text === null ? 'null' : typeof text}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    bad('not valid JSON', error);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) bad('expected a JSON object');
  const record = parsed as Record<string, unknown>;
  const goPrivate = field(record, 'private_key', GO_PRIVATE_KEY_SIZE);
  const publicKey = field(record, 'public_key', ED25519_PUBLIC_KEY_BYTES);
  const seed = goPrivate.subarray(0, ED25519_SEED_SIZE);
  if (!equalBytes(goPrivate.subarray(ED25519_SEED_SIZE), publicKey)) {
    goPrivate.fill(0);
    bad('"public_key" differs from the public half of "private_key"');
  }
  const identity = identityFromSeed(seed, options);
  goPrivate.fill(0);
  if (!equalBytes(identity.publicKey, publicKey)) bad('"public_key" is not the key the private seed derives');
  return identity;
}
