import {
  Challenge,
  freshSignedText,
  SIGNED_VALUES_VERSION,
  valuesDigest,
  valuesSignedText,
} from '../signed-text.js';
import type { Request } from './fields.js';

/** What a signed request claims: that `signature` (base64) is `publicKey`'s signature of `text`. */
export type SignatureClaim = {
  readonly publicKey: string;
  readonly text: string;
  readonly signature: string;
};

/**
 * The claim of a request whose signing key it carries itself (`register`), so that the signature
 * can be checked before the request runs, off the event loop. Undefined when the request is not
 * such a request or is malformed: the handler then checks (and refuses) it as usual.
 */
export function signatureClaim(request: Request): SignatureClaim | undefined {
  if (request.type !== 'register') return undefined;
  const publicKey = request.public_key;
  const signature = request.signature;
  if (typeof publicKey !== 'string' || publicKey.length > 64) return undefined;
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > 128) return undefined;
  const challenge = Challenge.register(publicKey);
  const { timestamp, nonce } = request;
  if (timestamp === undefined && nonce === undefined) return { publicKey, text: challenge, signature };
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp)) return undefined;
  if (typeof nonce !== 'string' || nonce.length > 64) return undefined;
  const version = request.signature_version;
  if (version !== undefined && version !== SIGNED_VALUES_VERSION) return undefined;
  const text =
    version === undefined
      ? freshSignedText(challenge, timestamp, nonce)
      : valuesSignedText(challenge, timestamp, nonce, valuesDigest(request));
  return { publicKey, text, signature };
}

/** Whether two claims are the same statement. */
export function sameClaim(a: SignatureClaim, b: SignatureClaim): boolean {
  return a.publicKey === b.publicKey && a.text === b.text && a.signature === b.signature;
}
