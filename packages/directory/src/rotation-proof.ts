import { verify } from '@pilot/crypto';
import { fromBase64 } from './base64.js';
import { Challenge } from './signed-text.js';

/**
 * Whether `proof` (base64) is `oldKey`'s signature over `rotate:<id>:<newKey>` (keys base64): the
 * old key handing node `id` to the new one. The registry checks it on rotate_key and owner
 * recovery; a peer that pinned the old key checks it before it accepts the new one.
 */
export function rotationProofValid(nodeId: number, oldKey: string, newKey: string, proof: string): boolean {
  try {
    const signature = fromBase64(proof, 64, 'rotation_proof');
    const message = new TextEncoder().encode(Challenge.rotationProof(nodeId, newKey));
    return verify(signature, message, fromBase64(oldKey, 32, 'public_key'));
  } catch {
    return false;
  }
}
