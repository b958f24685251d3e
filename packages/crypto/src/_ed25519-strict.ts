// Checks both backends apply before an Ed25519 verification, so that they accept and reject the
// same signatures. OpenSSL and noble (zip215: false) already agree on honest signatures; where they
// differ is on crafted encodings. We reject, for both: S ≥ L (malleability), a public key or R whose
// y is not reduced mod p, and a public key of small order (anyone can forge signatures for those).
// What remains different is only the cofactored (noble) vs cofactorless (OpenSSL, and Go's
// crypto/ed25519 in the reference) equation for keys with a torsion component, which only the key's
// owner can construct and which gains them nothing.
import { ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
]);

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// The y-coordinates (sign bit cleared) of the eight points of order dividing 8. A point is of small
// order exactly when its y is one of these: negating x keeps it in the torsion group.
const SMALL_ORDER_Y: readonly Uint8Array[] = (() => {
  const seen = new Map<string, Uint8Array>();
  for (const hex of ED25519_TORSION_SUBGROUP) {
    const bytes = hexToBytes(hex);
    bytes[31] = bytes[31]! & 0x7f;
    seen.set(bytes.join(','), bytes);
  }
  return [...seen.values()];
})();

/** True when the 32 little-endian bytes (below the top bit) encode a number ≥ p = 2^255 - 19. */
function yNotReduced(encoding: Uint8Array, offset: number): boolean {
  if ((encoding[offset + 31]! & 0x7f) !== 0x7f) return false;
  for (let i = 30; i >= 1; i--) if (encoding[offset + i] !== 0xff) return false;
  return encoding[offset]! >= 0xed;
}

function scalarNotReduced(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = L[i]!;
    if (s !== l) return s > l;
  }
  return true; // S = L
}

function isSmallOrder(publicKey: Uint8Array): boolean {
  for (const y of SMALL_ORDER_Y) {
    let diff = (publicKey[31]! & 0x7f) ^ y[31]!;
    for (let i = 0; i < 31; i++) diff |= publicKey[i]! ^ y[i]!;
    if (diff === 0) return true;
  }
  return false;
}

/** True when (signature, publicKey) must be rejected before any curve arithmetic. Lengths are checked. */
export function ed25519StrictReject(signature: Uint8Array, publicKey: Uint8Array): boolean {
  return (
    scalarNotReduced(signature) ||
    yNotReduced(signature, 0) ||
    yNotReduced(publicKey, 0) ||
    isSmallOrder(publicKey)
  );
}
