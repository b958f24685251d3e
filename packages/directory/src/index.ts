export { fromBase64, toBase64 } from './base64.js';
export {
  certificateFingerprint,
  probeRegistryTransport,
  type RegistryTransportProbe,
  type TlsClientOptions,
} from './client/connection.js';
export {
  DirectoryClient,
  type DirectoryClientOptions,
  type FindHit,
  type FindQuery,
  type NodeInfo,
  type RegisterOptions,
  type RegisterResult,
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
export { DirErrorCode, dirError } from './errors.js';
export { advertisedExtensions, EXTENSIONS_FIELD, RegistryExtension } from './extensions.js';
export { rotationProofValid } from './rotation-proof.js';
export type { Reply, RequestOrigin } from './server/op-context.js';
export { type RateLimit, TokenBucket } from './server/rate-limiter.js';
export { errorReply, REQUEST_TYPES, type ReapResult, RegistryHandler } from './server/registry-handler.js';
export type { RegistryLimitCounters } from './server/registry-limits.js';
export { OwnerKeySwap, type RegistryOptions } from './server/registry-options.js';
export { createSelfSignedCertificate, type SelfSignedCertificate } from './server/self-signed.js';
export type { SignatureClaim } from './server/signature-claim.js';
export {
  type DirectoryServer,
  type DirectoryServerOptions,
  type DirectoryServerStats,
  startDirectoryServer,
} from './server/tcp-server.js';
export {
  Challenge,
  createSigner,
  type DirectorySigner,
  freshSignedText,
  SIGNED_VALUE_FIELDS,
  SIGNED_VALUES_VERSION,
  type SignatureFields,
  signChallenge,
  signerFromIdentity,
  valuesDigest,
  valuesSignedText,
} from './signed-text.js';
export type {
  BeaconRecord,
  DirectoryStore,
  HandshakeRequest,
  HandshakeResponse,
  Invite,
  NetworkRecord,
  NetworkSummary,
  NewNode,
  NodePatch,
  NodeRecord,
  PageRequest,
  TagHit,
  TagSearch,
  Viewer,
} from './store/directory-store.js';
export { JoinRule } from './store/directory-store.js';
export { MIGRATIONS, type Migration, SCHEMA_VERSION } from './store/migrations.js';
export {
  migrate,
  SqliteDirectoryStore,
  type SqliteStoreOptions,
  type SqliteSynchronous,
} from './store/sqlite-store.js';
export { checkHostname, MAX_TAGS, normaliseTags, RESERVED_HOSTNAMES } from './validate.js';
