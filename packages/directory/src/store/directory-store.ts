/** One node as the directory keeps it. Times are unix milliseconds. */
export type NodeRecord = {
  readonly nodeId: number;
  /** Base64 Ed25519 public key: the node's identity. */
  readonly publicKey: string;
  readonly owner: string | null;
  /** The `host:port` the node announced (the host may be empty: "listen on all"). */
  readonly listenAddr: string | null;
  /** The `ip:port` the registry saw the registration come from. */
  readonly observedAddr: string | null;
  readonly lanAddrs: readonly string[];
  readonly hostname: string | null;
  readonly tags: readonly string[];
  readonly public: boolean;
  readonly version: string | null;
  readonly registeredAt: number;
  readonly keyChangedAt: number;
  readonly lastSeen: number;
  /** False once deregistered or reaped: the row stays (key → id, memberships) but is not listed. */
  readonly live: boolean;
  /** Once a node has proven a fresh signature, replayable reference-form signatures are refused for it. */
  readonly freshOnly: boolean;
  /** The key before the last rotation, and the old key's signature over `rotate:<id>:<new key>` (peers check it). */
  readonly previousKey: string | null;
  readonly rotationProof: string | null;
};

export type NewNode = {
  readonly publicKey: string;
  readonly owner: string | null;
  readonly listenAddr: string | null;
  readonly observedAddr: string | null;
  readonly lanAddrs: readonly string[];
  readonly version: string | null;
  readonly freshOnly: boolean;
  readonly now: number;
};

/** Fields a registration or an operation may change. Absent fields are left alone. */
export type NodePatch = {
  readonly publicKey?: string;
  readonly owner?: string | null;
  readonly listenAddr?: string | null;
  readonly observedAddr?: string | null;
  readonly lanAddrs?: readonly string[];
  readonly hostname?: string | null;
  readonly public?: boolean;
  readonly version?: string | null;
  readonly keyChangedAt?: number;
  readonly lastSeen?: number;
  readonly live?: boolean;
  readonly freshOnly?: boolean;
  readonly previousKey?: string | null;
  readonly rotationProof?: string | null;
};

export const JoinRule = { OPEN: 'open', TOKEN: 'token', INVITE: 'invite' } as const;
export type JoinRule = (typeof JoinRule)[keyof typeof JoinRule];

export type NetworkRecord = {
  readonly networkId: number;
  readonly name: string;
  readonly joinRule: JoinRule;
  /** SHA-256 (hex) of the join token, for token networks. */
  readonly tokenHash: string | null;
  readonly creatorId: number;
  readonly createdAt: number;
};

export type NetworkSummary = NetworkRecord & { readonly members: number };

export type HandshakeRequest = {
  readonly fromNodeId: number;
  readonly justification: string;
  readonly at: number;
};
export type HandshakeResponse = {
  readonly fromNodeId: number;
  readonly accept: boolean;
  readonly at: number;
};
export type Invite = {
  readonly networkId: number;
  readonly inviterId: number;
  readonly at: number;
  readonly expiresAt: number;
};
export type BeaconRecord = { readonly beaconId: string; readonly addr: string; readonly lastSeen: number };

/** Who is asking, for the visibility rule: public nodes, yourself, trust pairs, shared non-backbone networks. */
export type Viewer = { readonly requesterId: number | null };

export type TagSearch = {
  /** Exact tags to match. */
  readonly exact: readonly string[];
  /** Tag prefixes (`weather.`) to match. */
  readonly prefixes: readonly string[];
  readonly viewer: Viewer;
  /** Only nodes seen at or after this time count as live. */
  readonly liveSince: number;
  readonly limit: number;
  readonly offset: number;
};

export type TagHit = { readonly node: NodeRecord; readonly score: number };

export type PageRequest = { readonly liveSince: number; readonly limit: number; readonly offset: number };

/**
 * Everything the registry logic needs from persistence. The interface is synchronous: each request
 * runs inside `transaction`, and the SQLite implementation answers in microseconds from its own
 * process. A networked implementation (a shared database server for several registry instances)
 * implements the same operations; README.md describes that path.
 *
 * Every method sees the writes of the enclosing transaction; `transaction` nests (a nested call is a
 * savepoint: if its function throws, only its own writes are undone).
 */
export type DirectoryStore = {
  transaction<T>(fn: () => T): T;

  getNode(nodeId: number): NodeRecord | undefined;
  getNodeByKey(publicKey: string): NodeRecord | undefined;
  /** The owner's nodes, the most recently seen first. */
  getNodesByOwner(owner: string, limit: number): NodeRecord[];
  countNodesByOwner(owner: string): number;
  /** The live node holding `hostname`, if any. */
  getNodeByHostname(hostname: string): NodeRecord | undefined;
  /** Creates a live node with the next sequential id (at least `firstId`); undefined when `maxId` is passed. */
  createNode(node: NewNode, firstId: number, maxId: number): NodeRecord | undefined;
  updateNode(nodeId: number, patch: NodePatch): void;
  setTags(nodeId: number, tags: readonly string[]): void;
  /** Marks nodes not seen since `before` as not live, clearing hostname, tags and visibility. Returns how many. */
  expireNodes(before: number): number;
  /** Makes one node not live the same way (deregister). */
  retireNode(nodeId: number): void;
  /** Live nodes that `viewer` may see, by tag, ranked by match count then recency. */
  searchTags(search: TagSearch): TagHit[];
  /** Live public nodes of the backbone (or all when `includePrivate`), by id. */
  listBackbone(page: PageRequest, includePrivate: boolean): NodeRecord[];

  createNetwork(network: Omit<NetworkRecord, 'networkId'>, maxId: number): NetworkRecord | undefined;
  getNetwork(networkId: number): NetworkRecord | undefined;
  getNetworkByName(name: string): NetworkRecord | undefined;
  listNetworks(): NetworkSummary[];
  addMember(networkId: number, nodeId: number, now: number): void;
  removeMember(networkId: number, nodeId: number): boolean;
  isMember(networkId: number, nodeId: number): boolean;
  /** Non-backbone network ids the node belongs to. */
  memberships(nodeId: number): number[];
  listMembers(networkId: number, page: PageRequest): NodeRecord[];
  /** Whether both nodes are members of one same non-backbone network. */
  shareNetwork(a: number, b: number): boolean;

  addInvite(target: number, invite: Invite): void;
  countInvites(target: number, now: number): number;
  /** Removes and returns the target's pending invite to `networkId`, if one has not expired. */
  takeInvite(target: number, networkId: number, now: number): Invite | undefined;
  listInvites(target: number, now: number): Invite[];

  /** `from` reports that it trusts `to` (one direction; a request for trust counts as the asker's report). */
  addTrust(from: number, to: number, now: number): void;
  /** Ends the pair: both directions. */
  removeTrust(a: number, b: number): boolean;
  /** Whether both have reported each other: only then does the pair reveal anything. */
  hasTrust(a: number, b: number): boolean;

  addHandshakeRequest(to: number, request: HandshakeRequest): void;
  hasHandshakeRequest(to: number, from: number): boolean;
  removeHandshakeRequest(to: number, from: number): boolean;
  countHandshakeRequests(to: number): number;
  /** Adds a response; an earlier one from the same node to the same node is replaced (one per pair). */
  addHandshakeResponse(to: number, response: HandshakeResponse): void;
  countHandshakeResponses(to: number): number;
  /** Returns and clears the node's pending requests and responses. */
  takeHandshakes(nodeId: number): { requests: HandshakeRequest[]; responses: HandshakeResponse[] };

  /** Records a nonce for a signer scope; false when it was already recorded (a replay). */
  rememberNonce(scope: string, nonce: string, expiresAt: number): boolean;
  pruneNonces(now: number): number;

  upsertBeacon(beacon: BeaconRecord): void;
  listBeacons(since: number): BeaconRecord[];
  pruneBeacons(before: number): number;
  pruneInvites(now: number): number;

  close(): void;
};
