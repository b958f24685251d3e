import { isPilotError, normalizeIp } from '@pilot/wire';
import { fromBase64 } from '../base64.js';
import { DirErrorCode, dirError } from '../errors.js';
import { rotationProofValid } from '../rotation-proof.js';
import { Challenge } from '../signed-text.js';
import type { NodeRecord } from '../store/directory-store.js';
import { checkHostname, formatEndpoint, normaliseTags } from '../validate.js';
import type { Proof } from './authenticator.js';
import { bool, optionalStr, optionalU32, type Request, str, strArray, u32 } from './fields.js';
import { checkLanAddr, checkListenAddr, endpointOf, realAddr } from './node-endpoints.js';
import { backboneAddress, type OpContext, type Operation, type Reply, reflectorField } from './op-context.js';
import { OwnerKeySwap } from './registry-options.js';

const DAY_MS = 86_400_000;

/** Gives `node` the hostname, or clears it with "". A name held by an expired node is free. */
function assignHostname(ctx: OpContext, node: NodeRecord, hostname: string): void {
  if (hostname === '') {
    ctx.store.updateNode(node.nodeId, { hostname: null });
    return;
  }
  checkHostname(hostname);
  const holder = ctx.store.getNodeByHostname(hostname);
  if (holder !== undefined && holder.nodeId !== node.nodeId) {
    if (ctx.isLive(holder)) {
      throw dirError(DirErrorCode.HOSTNAME_TAKEN, `hostname "${hostname}" already taken`);
    }
    // The holder stopped heartbeating but the reaper has not run yet: the name is no longer its.
    ctx.store.retireNode(holder.nodeId);
  }
  ctx.store.updateNode(node.nodeId, { hostname });
}

/** The fields `lookup` shows anyone. The endpoint only when the node is public. */
export function nodeView(ctx: OpContext, node: NodeRecord): Reply {
  const view: Reply = {
    node_id: node.nodeId,
    address: backboneAddress(node.nodeId),
    networks: [0, ...ctx.store.memberships(node.nodeId)],
    public_key: node.publicKey,
    public: node.public,
    polo_score: 0,
  };
  if (node.hostname !== null) view.hostname = node.hostname;
  if (node.tags.length > 0) view.tags = node.tags;
  if (node.previousKey !== null && node.rotationProof !== null) {
    view.previous_public_key = node.previousKey;
    view.rotation_proof = node.rotationProof;
  }
  if (node.version !== null) view.version = node.version;
  const capabilities = ctx.tunnelCapabilities.get(node.nodeId);
  if (capabilities !== undefined) view.tunnel_capabilities = capabilities;
  if (node.public) {
    const addr = realAddr(node);
    if (addr !== null) view.real_addr = addr;
  }
  return view;
}

const register: Operation = (ctx, request, origin) => {
  const publicKey = str(request, 'public_key', 64);
  fromBase64(publicKey, 32, 'public_key');
  const listen = optionalStr(request, 'listen_addr', 300);
  const listenAddr = listen === undefined || listen === '' ? null : checkListenAddr(listen);
  const ownerText = optionalStr(request, 'owner', 254) ?? optionalStr(request, 'email', 254);
  const owner = ownerText === undefined || ownerText === '' ? null : ownerText;
  const hostname = optionalStr(request, 'hostname', 63);
  // The registration's own IP: the host of the endpoint peers are given (node-endpoints.ts).
  const peer = origin.remoteAddress === undefined ? undefined : normalizeIp(origin.remoteAddress);
  const lanAddrs = strArray(request, 'lan_addrs', 16, 300).map((addr) => checkLanAddr(addr, peer));
  const version = optionalStr(request, 'version', 64) ?? null;
  const tunnelCapabilities = strArray(request, 'tunnel_capabilities', 16, 32);
  const observedAddr = peer === undefined ? null : formatEndpoint(peer, origin.remotePort ?? 0);

  let proof: Proof | undefined;
  if (request.signature !== undefined && request.signature !== null) {
    proof = ctx.auth.verify(
      request,
      publicKey,
      Challenge.register(publicKey),
      `k:${publicKey}`,
      false,
      ctx.now,
    );
  } else if (ctx.options.requireSignedRegister) {
    throw dirError(
      DirErrorCode.SIGNATURE_REQUIRED,
      'signature required: register must prove possession of the key',
    );
  }
  const fresh = proof === 'fresh';
  const refresh = {
    listenAddr,
    observedAddr,
    lanAddrs,
    version,
    lastSeen: ctx.now,
    live: true,
    ...(fresh ? { freshOnly: true } : {}),
  };

  let node = ctx.store.getNodeByKey(publicKey);
  if (node !== undefined) {
    // Without this, anyone who read a key from `lookup` could re-register it and move the node's endpoint.
    if (node.freshOnly && !fresh) {
      throw dirError(
        DirErrorCode.FRESHNESS_REQUIRED,
        'signature required: this key has registered with a fresh signature before',
      );
    }
    if (!ctx.isLive(node) && node.live) ctx.store.retireNode(node.nodeId);
    ctx.store.updateNode(node.nodeId, {
      ...refresh,
      ...(owner !== null && node.owner === null ? { owner } : {}),
    });
  } else {
    // Owner recovery hands a node ID to a new key only with the old key's word for it: knowing the
    // owner string (an e-mail address, often public) is no proof, and peers that pinned the old key
    // would refuse the new one anyway. Without a proof the key gets a node of its own.
    const recoveryProof = optionalStr(request, 'rotation_proof', 200);
    if (owner !== null && recoveryProof !== undefined && ctx.options.ownerKeySwap !== OwnerKeySwap.NEVER) {
      const candidates = ctx.store.getNodesByOwner(owner, 20);
      const target = (
        ctx.options.ownerKeySwap === OwnerKeySwap.ALWAYS
          ? candidates
          : candidates.filter((n) => !ctx.isLive(n))
      ).find((n) => rotationProofValid(n.nodeId, n.publicKey, publicKey, recoveryProof));
      if (target !== undefined) {
        if (target.live) ctx.store.retireNode(target.nodeId);
        ctx.store.updateNode(target.nodeId, {
          ...refresh,
          publicKey,
          keyChangedAt: ctx.now,
          freshOnly: fresh,
          previousKey: target.publicKey,
          rotationProof: recoveryProof,
        });
        node = target;
      }
    }
    if (node === undefined) {
      if (owner !== null && ctx.store.countNodesByOwner(owner) >= ctx.options.maxNodesPerOwner) {
        throw dirError(
          DirErrorCode.OWNER_LIMIT,
          `invalid owner: already holds ${ctx.options.maxNodesPerOwner} nodes`,
        );
      }
      node = ctx.store.createNode(
        { publicKey, owner, listenAddr, observedAddr, lanAddrs, version, freshOnly: fresh, now: ctx.now },
        ctx.options.firstNodeId,
        ctx.options.maxNodeId,
      );
      if (node === undefined) throw dirError(DirErrorCode.FULL, 'registry full');
    }
  }

  // Believed only under a signature (ours cover the values): unsigned, someone on the path could add
  // capabilities that make peers send a reference node bytes it would never get from a reference peer.
  if (proof !== undefined && tunnelCapabilities.length > 0)
    ctx.tunnelCapabilities.set(node.nodeId, tunnelCapabilities);
  else ctx.tunnelCapabilities.delete(node.nodeId);

  const reply: Reply = {
    type: 'register_ok',
    node_id: node.nodeId,
    network_id: 0,
    address: backboneAddress(node.nodeId),
    public_key: publicKey,
    protocol_version: 1,
    // Ours: the reference's readers ignore it; our clients sign freshly only once they see it.
    extensions: ctx.extensions,
    ...reflectorField(ctx),
  };
  // As the reference: what peers will be given (the connection's IP, the announced port).
  const observed = endpointOf(listenAddr, observedAddr);
  if (observed !== null) reply.observed_addr = observed;
  if (hostname !== undefined && hostname !== '') {
    try {
      assignHostname(ctx, node, hostname);
      reply.hostname = hostname;
    } catch (error) {
      // The reference registers the node anyway and reports the name problem beside the id.
      if (!isPilotError(error)) throw error;
      reply.hostname_error = error.message;
    }
  }
  return reply;
};

const lookup: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  return { type: 'lookup_ok', ...nodeView(ctx, node) };
};

const resolve: Operation = (ctx, request) => {
  const targetId = u32(request, 'node_id');
  const requester = ctx.liveNode(u32(request, 'requester_id'), 'requester');
  ctx.auth.authorise(request, requester, Challenge.resolve(requester.nodeId, targetId), ctx.now);
  const target = ctx.liveNode(targetId);
  if (!ctx.canSee(requester.nodeId, target)) {
    throw dirError(
      DirErrorCode.RESOLVE_DENIED,
      'resolve denied: the node is private and not trusted by the requester',
    );
  }
  const reply: Reply = {
    type: 'resolve_ok',
    node_id: target.nodeId,
    real_addr: realAddr(target),
    key_age_days: Math.floor((ctx.now - target.keyChangedAt) / DAY_MS),
  };
  if (target.lanAddrs.length > 0) reply.lan_addrs = target.lanAddrs;
  return reply;
};

/** The requester a request speaks for: signed, or (in compatibility mode) merely claimed. */
function claimedViewer(ctx: OpContext, request: Request, challenge: (id: number) => string): number | null {
  const requesterId = optionalU32(request, 'requester_id');
  if (requesterId === undefined) return null;
  if (request.signature !== undefined && request.signature !== null) {
    const requester = ctx.liveNode(requesterId, 'requester');
    ctx.auth.authorise(request, requester, challenge(requesterId), ctx.now);
    return requesterId;
  }
  // The reference trusts an unsigned requester_id here; resolve_hostname reveals no endpoint.
  return ctx.options.acceptLegacySignatures ? requesterId : null;
}

/** The node behind a hostname if the viewer may see it; hidden nodes look exactly like absent ones. */
export function findByHostname(ctx: OpContext, hostname: string, viewer: number | null): NodeRecord {
  const node = ctx.store.getNodeByHostname(hostname);
  if (node === undefined || !ctx.isLive(node) || !ctx.canSee(viewer, node)) {
    throw dirError(DirErrorCode.NOT_FOUND, `hostname "${hostname}" not found`);
  }
  return node;
}

const resolveHostname: Operation = (ctx, request) => {
  const hostname = str(request, 'hostname', 63);
  const viewer = claimedViewer(ctx, request, (id) => Challenge.resolveHostname(id, hostname));
  const node = findByHostname(ctx, hostname, viewer);
  return {
    type: 'resolve_hostname_ok',
    node_id: node.nodeId,
    address: backboneAddress(node.nodeId),
    public: node.public,
    hostname,
  };
};

const setHostname: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const hostname = str(request, 'hostname', 63);
  ctx.auth.authorise(request, node, Challenge.setHostname(node.nodeId), ctx.now);
  assignHostname(ctx, node, hostname);
  return { type: 'set_hostname_ok', node_id: node.nodeId, hostname };
};

const setTags: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const tags = normaliseTags(strArray(request, 'tags', 64, 64), ctx.options.maxTags);
  ctx.auth.authorise(request, node, Challenge.setTags(node.nodeId), ctx.now);
  ctx.store.setTags(node.nodeId, tags);
  return { type: 'set_tags_ok', node_id: node.nodeId, tags };
};

const setVisibility: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const visible = bool(request, 'public');
  ctx.auth.authorise(request, node, Challenge.setVisibility(node.nodeId), ctx.now);
  ctx.store.updateNode(node.nodeId, { public: visible });
  return { type: 'set_visibility_ok', node_id: node.nodeId, public: visible };
};

const heartbeat: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  ctx.auth.authorise(request, node, Challenge.heartbeat(node.nodeId), ctx.now);
  ctx.store.updateNode(node.nodeId, { lastSeen: ctx.now });
  return { type: 'heartbeat_ok', time: Math.floor(ctx.now / 1000) };
};

const deregister: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  ctx.auth.authorise(request, node, Challenge.deregister(node.nodeId), ctx.now);
  ctx.store.retireNode(node.nodeId);
  return { type: 'deregister_ok', node_id: node.nodeId };
};

const rotateKey: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const newKey = str(request, 'new_public_key', 64);
  fromBase64(newKey, 32, 'new_public_key');
  ctx.auth.authorise(request, node, Challenge.rotateKey(node.nodeId), ctx.now);
  // Ours, optional (the reference sends none): the old key's signature naming the new key, kept so
  // that peers which pinned the old key can check the rotation themselves.
  const proof = optionalStr(request, 'rotation_proof', 200);
  if (proof !== undefined && !rotationProofValid(node.nodeId, node.publicKey, newKey, proof))
    throw dirError(DirErrorCode.BAD_SIGNATURE, 'invalid rotation_proof: not the old key signing the new one');
  const holder = ctx.store.getNodeByKey(newKey);
  if (holder !== undefined) {
    throw dirError(DirErrorCode.KEY_IN_USE, 'invalid new_public_key: already registered to a node');
  }
  ctx.store.updateNode(node.nodeId, {
    publicKey: newKey,
    keyChangedAt: ctx.now,
    previousKey: node.publicKey,
    rotationProof: proof ?? null,
  });
  return { type: 'rotate_key_ok', node_id: node.nodeId, public_key: newKey };
};

export const NODE_OPERATIONS: Readonly<Record<string, Operation>> = {
  register,
  lookup,
  resolve,
  resolve_hostname: resolveHostname,
  set_hostname: setHostname,
  set_tags: setTags,
  set_visibility: setVisibility,
  heartbeat,
  deregister,
  rotate_key: rotateKey,
};
