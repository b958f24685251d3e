// `@pilot/directory/client`: what a client of the registry needs (daemons, pilotctl, agents), without
// the server, the stores or their native modules (better-sqlite3, pg).
export { fromBase64, toBase64 } from './base64.js';
export {
  certificateFingerprint,
  type Dialer,
  probeRegistryTransport,
  type RegistryTransportProbe,
  type TlsClientOptions,
} from './client/connection.js';
export {
  type BirthdayReply,
  DirectoryClient,
  type DirectoryClientOptions,
  type FindHit,
  type FindQuery,
  type NodeInfo,
  type RegisterOptions,
  type RegisterResult,
  type RequestOptions,
} from './client/directory-client.js';
export {
  KnownRegistries,
  normaliseFingerprint,
  type RegistryLink,
  type RegistryLinkMode,
  type RegistryLinkOptions,
  type RegistryPinSource,
  resolveRegistryLink,
} from './client/registry-link.js';
export { type RequestLane, RequestLanes, type RequestLanesOptions } from './client/request-lanes.js';
export { DirErrorCode, dirError } from './errors.js';
export { advertisedExtensions, EXTENSIONS_FIELD, RegistryExtension } from './extensions.js';
export { rotationProofValid } from './rotation-proof.js';
export {
  Challenge,
  createSigner,
  type DirectorySigner,
  freshSignedText,
  SIGNED_EXTENSION_VALUE_FIELDS,
  SIGNED_VALUE_FIELDS,
  SIGNED_VALUES_VERSION,
  type SignatureFields,
  signChallenge,
  signerFromIdentity,
  valuesDigest,
  valuesSignedText,
} from './signed-text.js';
export { checkHostname, MAX_TAGS, normaliseTags, RESERVED_HOSTNAMES } from './validate.js';
