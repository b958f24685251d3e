// `@pilot/directory/server`: the registry's request handler and its TCP/TLS server, and the store
// interface they run on. The stores themselves are `@pilot/directory/sqlite` and `/postgres`.
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
