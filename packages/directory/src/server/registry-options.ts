/** What a registry does when a known owner registers with a key it has not seen. */
export const OwnerKeySwap = {
  /** Never: the new key gets a node of its own (within the per-owner limit). */
  NEVER: 'never',
  /** Only when the owner's node has expired or deregistered; a live node is never taken over. */
  WHEN_EXPIRED: 'when-expired',
  /** Always (the reference): anyone who knows the owner string can take the node over. */
  ALWAYS: 'always',
} as const;
export type OwnerKeySwap = (typeof OwnerKeySwap)[keyof typeof OwnerKeySwap];

export type RegistryOptions = {
  /** The clock, in unix milliseconds. Default Date.now. */
  readonly now?: () => number;
  /** Accept the reference's replayable signatures from nodes that never signed freshly. Default true. */
  readonly acceptLegacySignatures?: boolean;
  /** Refuse `register` requests without a proof-of-possession signature. Default false (the reference sends none). */
  readonly requireSignedRegister?: boolean;
  /** Accepted distance between a fresh signature's timestamp and the clock. Default 60 s. */
  readonly freshnessWindowMs?: number;
  /** A node not heard from for this long is expired. Default 5 min (the reference). */
  readonly nodeTtlMs?: number;
  /** A beacon not re-registered for this long is dropped from beacon_list. Default 60 s. */
  readonly beaconTtlMs?: number;
  /** The registry's admin token; absent means no request is admin. */
  readonly adminToken?: string;
  /** Who may create networks: any registered node (signed) or only the admin token (the reference). Default any-node. */
  readonly networkCreation?: 'any-node' | 'admin-only';
  /** Default when-expired. */
  readonly ownerKeySwap?: OwnerKeySwap;
  /** First node id handed out. Default 1 (the reference). */
  readonly firstNodeId?: number;
  /** Highest node id handed out: the directory is full beyond it. Default 1,000,000 (the reference's cap). */
  readonly maxNodeId?: number;
  /** Live nodes one owner may hold. Default 100. */
  readonly maxNodesPerOwner?: number;
  /** Tags per node. Default 10. */
  readonly maxTags?: number;
  /** Pending handshake requests per node. Default 100. */
  readonly maxHandshakeInbox?: number;
  /** Pending invites per node. Default 100. */
  readonly maxInviteInbox?: number;
  /** Default 30 days. */
  readonly inviteTtlMs?: number;
  /** When set, beacon_register must carry this token (the reference leaves beacon registration open). */
  readonly beaconToken?: string;
  /** Largest page of list_nodes and find. Default 1000. */
  readonly maxPageSize?: number;
  /** Non-backbone networks one node may belong to (create or join beyond it is refused). Default 64. */
  readonly maxNetworksPerNode?: number;
  /** Networks one node may create: burst, then one per `networkCreateEveryMs`. Default 10. */
  readonly networkCreateBurstPerNode?: number;
  /** Networks created from one source IP: burst, then one per `networkCreateEveryMs`. Default 20. */
  readonly networkCreateBurstPerIp?: number;
  /** Refill period of the network creation budgets. Default 6 min (10 an hour). */
  readonly networkCreateEveryMs?: number;
  /** Handshake responses waiting in one node's inbox (respond_handshake beyond it is refused). Default 100. */
  readonly maxHandshakeResponses?: number;
  /**
   * The UDP port of a second reflector beside the beacon (pilot-rendezvous' `--stun-addr`), read at
   * each reply: when it returns a port, `register_ok` and `beacon_list_ok` carry it as
   * `reflector_port` and the `reflector` extension is advertised, so daemons classify their NAT
   * without flags. Default: none.
   */
  readonly reflectorPort?: () => number | undefined;
  /**
   * The TCP port of the relay over WebSocket-over-TLS on the registry's host (pilot-rendezvous'
   * `--wss-addr`), read at each reply: when it returns a port, `register_ok` and `beacon_list_ok`
   * carry it as `wss_port` and the `wss` extension is advertised. Default: none.
   */
  readonly wssPort?: () => number | undefined;
  /** How long a `birthday` intent counts. Default 30 s. */
  readonly birthdayIntentTtlMs?: number;
  /** Live `birthday` intents (distinct peers) one node may hold. Default 8. */
  readonly birthdayIntentsPerNode?: number;
};

export type ResolvedRegistryOptions = {
  readonly [K in Exclude<
    keyof RegistryOptions,
    'adminToken' | 'beaconToken' | 'reflectorPort' | 'wssPort'
  >]-?: Exclude<RegistryOptions[K], undefined>;
} & {
  readonly adminToken: string | undefined;
  readonly beaconToken: string | undefined;
  readonly reflectorPort: (() => number | undefined) | undefined;
  readonly wssPort: (() => number | undefined) | undefined;
};

export function resolveRegistryOptions(options: RegistryOptions): ResolvedRegistryOptions {
  return {
    now: options.now ?? Date.now,
    acceptLegacySignatures: options.acceptLegacySignatures ?? true,
    requireSignedRegister: options.requireSignedRegister ?? false,
    freshnessWindowMs: options.freshnessWindowMs ?? 60_000,
    nodeTtlMs: options.nodeTtlMs ?? 300_000,
    beaconTtlMs: options.beaconTtlMs ?? 60_000,
    adminToken: options.adminToken,
    networkCreation: options.networkCreation ?? 'any-node',
    ownerKeySwap: options.ownerKeySwap ?? OwnerKeySwap.WHEN_EXPIRED,
    firstNodeId: options.firstNodeId ?? 1,
    maxNodeId: options.maxNodeId ?? 1_000_000,
    maxNodesPerOwner: options.maxNodesPerOwner ?? 100,
    maxTags: options.maxTags ?? 10,
    maxHandshakeInbox: options.maxHandshakeInbox ?? 100,
    maxInviteInbox: options.maxInviteInbox ?? 100,
    inviteTtlMs: options.inviteTtlMs ?? 30 * 24 * 3600 * 1000,
    beaconToken: options.beaconToken,
    maxPageSize: options.maxPageSize ?? 1000,
    maxNetworksPerNode: options.maxNetworksPerNode ?? 64,
    networkCreateBurstPerNode: options.networkCreateBurstPerNode ?? 10,
    networkCreateBurstPerIp: options.networkCreateBurstPerIp ?? 20,
    networkCreateEveryMs: options.networkCreateEveryMs ?? 360_000,
    maxHandshakeResponses: options.maxHandshakeResponses ?? 100,
    reflectorPort: options.reflectorPort,
    wssPort: options.wssPort,
    birthdayIntentTtlMs: options.birthdayIntentTtlMs ?? 30_000,
    birthdayIntentsPerNode: options.birthdayIntentsPerNode ?? 8,
  };
}
