import Database from 'better-sqlite3';
import { DirErrorCode, dirError } from '../errors.js';
import type {
  BeaconRecord,
  DirectoryStore,
  HandshakeRequest,
  HandshakeResponse,
  Invite,
  JoinRule,
  NetworkRecord,
  NetworkSummary,
  NewNode,
  NodePatch,
  NodeRecord,
  PageRequest,
  TagHit,
  TagSearch,
} from './directory-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

/**
 * `FULL` fsyncs the write-ahead log at every commit: an acknowledged write survives a power cut.
 * `NORMAL` (in WAL mode) writes the log at every commit but fsyncs only at checkpoints: an
 * acknowledged write survives the death of the process (kill -9: the bytes are in the OS page
 * cache) but the last commits may be lost if the machine itself goes down.
 */
export type SqliteSynchronous = 'FULL' | 'NORMAL';

export type SqliteStoreOptions = {
  /** Database file, or ":memory:" (tests). */
  readonly path: string;
  /** Default FULL. */
  readonly synchronous?: SqliteSynchronous;
  /** How long a writer waits for another process's lock before failing, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  /**
   * Bytes of the file SQLite reads through a memory map instead of read() calls. Default 1 GiB
   * (address space, not memory: the pages are the OS page cache's). 0 disables it.
   */
  readonly mmapSizeBytes?: number;
  /** SQLite's own page cache, in KiB. Default 65,536 (64 MiB), enough for the upper levels of the indexes of millions of nodes. */
  readonly cacheSizeKiB?: number;
};

type NodeRow = {
  node_id: number;
  public_key: string;
  owner: string | null;
  listen_addr: string | null;
  observed_addr: string | null;
  lan_addrs: string;
  hostname: string | null;
  tags: string;
  public: number;
  version: string | null;
  registered_at: number;
  key_changed_at: number;
  last_seen: number;
  live: number;
  fresh_only: number;
  previous_key?: string | null;
  rotation_proof?: string | null;
};

type NetworkRow = {
  network_id: number;
  name: string;
  join_rule: string;
  token_hash: string | null;
  creator_id: number;
  created_at: number;
};

function parseStringArray(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function toNode(row: NodeRow): NodeRecord {
  return {
    nodeId: row.node_id,
    publicKey: row.public_key,
    owner: row.owner,
    listenAddr: row.listen_addr,
    observedAddr: row.observed_addr,
    lanAddrs: parseStringArray(row.lan_addrs),
    hostname: row.hostname,
    tags: parseStringArray(row.tags),
    public: row.public === 1,
    version: row.version,
    registeredAt: row.registered_at,
    keyChangedAt: row.key_changed_at,
    lastSeen: row.last_seen,
    live: row.live === 1,
    freshOnly: row.fresh_only === 1,
    previousKey: row.previous_key ?? null,
    rotationProof: row.rotation_proof ?? null,
  };
}

function toNetwork(row: NetworkRow): NetworkRecord {
  return {
    networkId: row.network_id,
    name: row.name,
    joinRule: row.join_rule as JoinRule,
    tokenHash: row.token_hash,
    creatorId: row.creator_id,
    createdAt: row.created_at,
  };
}

const PATCH_COLUMNS: Readonly<Record<keyof NodePatch, string>> = {
  publicKey: 'public_key',
  owner: 'owner',
  listenAddr: 'listen_addr',
  observedAddr: 'observed_addr',
  lanAddrs: 'lan_addrs',
  hostname: 'hostname',
  public: 'public',
  version: 'version',
  keyChangedAt: 'key_changed_at',
  lastSeen: 'last_seen',
  live: 'live',
  freshOnly: 'fresh_only',
  previousKey: 'previous_key',
  rotationProof: 'rotation_proof',
};

function patchValue(key: keyof NodePatch, value: NodePatch[keyof NodePatch]): string | number | null {
  if (key === 'lanAddrs') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value as string | number | null;
}

/** Applies the migrations the database lacks; returns the version it is now at. */
export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true });
  if (typeof current !== 'number')
    throw dirError(DirErrorCode.STORE_FAILED, 'cannot read the schema version');
  if (current > SCHEMA_VERSION) {
    throw dirError(
      DirErrorCode.SCHEMA_TOO_NEW,
      `database schema version ${current} is newer than this code's ${SCHEMA_VERSION}`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return SCHEMA_VERSION;
}

/**
 * The directory in one SQLite file, in WAL mode. Reads never wait for the writer; every write is
 * one transaction (the server groups the requests of one event-loop turn into one commit).
 */
export class SqliteDirectoryStore implements DirectoryStore {
  readonly db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(options: SqliteStoreOptions) {
    this.db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      if (options.path !== ':memory:') {
        const mode = this.db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal')
          throw dirError(DirErrorCode.STORE_FAILED, `cannot enable WAL mode (got ${String(mode)})`);
      }
      this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
      this.db.pragma(`mmap_size = ${Math.max(0, Math.floor(options.mmapSizeBytes ?? 1 << 30))}`);
      this.db.pragma(`cache_size = ${-Math.max(0, Math.floor(options.cacheSizeKiB ?? 65_536))}`);
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  #stmt(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #nodeRow(sql: string, ...params: unknown[]): NodeRecord | undefined {
    const row = this.#stmt(sql).get(...params) as NodeRow | undefined;
    return row === undefined ? undefined : toNode(row);
  }

  #nodeRows(sql: string, ...params: unknown[]): NodeRecord[] {
    return (this.#stmt(sql).all(...params) as NodeRow[]).map(toNode);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getNode(nodeId: number): NodeRecord | undefined {
    return this.#nodeRow('SELECT * FROM nodes WHERE node_id = ?', nodeId);
  }

  getNodeByKey(publicKey: string): NodeRecord | undefined {
    return this.#nodeRow('SELECT * FROM nodes WHERE public_key = ?', publicKey);
  }

  getNodesByOwner(owner: string, limit: number): NodeRecord[] {
    return this.#nodeRows(
      'SELECT * FROM nodes WHERE owner = ? ORDER BY last_seen DESC LIMIT ?',
      owner,
      limit,
    );
  }

  countNodesByOwner(owner: string): number {
    const row = this.#stmt('SELECT COUNT(*) AS n FROM nodes WHERE owner = ? AND live = 1').get(owner) as {
      n: number;
    };
    return row.n;
  }

  getNodeByHostname(hostname: string): NodeRecord | undefined {
    return this.#nodeRow('SELECT * FROM nodes WHERE hostname = ? AND live = 1', hostname);
  }

  createNode(node: NewNode, firstId: number, maxId: number): NodeRecord | undefined {
    const row = this.#stmt('SELECT MAX(node_id) AS id FROM nodes').get() as { id: number | null };
    const nodeId = Math.max(firstId, (row.id ?? 0) + 1);
    if (nodeId > maxId) return undefined;
    this.#stmt(
      `INSERT INTO nodes (node_id, public_key, owner, listen_addr, observed_addr, lan_addrs, version,
         registered_at, key_changed_at, last_seen, live, fresh_only)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
    ).run(
      nodeId,
      node.publicKey,
      node.owner,
      node.listenAddr,
      node.observedAddr,
      JSON.stringify(node.lanAddrs),
      node.version,
      node.now,
      node.now,
      node.now,
      node.freshOnly ? 1 : 0,
    );
    return this.getNode(nodeId);
  }

  updateNode(nodeId: number, patch: NodePatch): void {
    const keys = (Object.keys(patch) as (keyof NodePatch)[]).filter((key) => patch[key] !== undefined);
    if (keys.length === 0) return;
    const sql = `UPDATE nodes SET ${keys.map((key) => `${PATCH_COLUMNS[key]} = ?`).join(', ')} WHERE node_id = ?`;
    this.#stmt(sql).run(...keys.map((key) => patchValue(key, patch[key])), nodeId);
  }

  setTags(nodeId: number, tags: readonly string[]): void {
    this.#stmt('DELETE FROM node_tags WHERE node_id = ?').run(nodeId);
    const insert = this.#stmt('INSERT INTO node_tags (tag, node_id) VALUES (?, ?)');
    for (const tag of tags) insert.run(tag, nodeId);
    this.#stmt('UPDATE nodes SET tags = ? WHERE node_id = ?').run(JSON.stringify(tags), nodeId);
  }

  expireNodes(before: number): number {
    this.#stmt(
      'DELETE FROM node_tags WHERE node_id IN (SELECT node_id FROM nodes WHERE live = 1 AND last_seen < ?)',
    ).run(before);
    const result = this.#stmt(
      `UPDATE nodes SET live = 0, hostname = NULL, tags = '[]', public = 0 WHERE live = 1 AND last_seen < ?`,
    ).run(before);
    return result.changes;
  }

  retireNode(nodeId: number): void {
    this.#stmt('DELETE FROM node_tags WHERE node_id = ?').run(nodeId);
    this.#stmt(`UPDATE nodes SET live = 0, hostname = NULL, tags = '[]', public = 0 WHERE node_id = ?`).run(
      nodeId,
    );
  }

  searchTags(search: TagSearch): TagHit[] {
    const terms: string[] = [];
    const params: (string | number)[] = [];
    if (search.exact.length > 0) {
      terms.push(`tag IN (${search.exact.map(() => '?').join(', ')})`);
      params.push(...search.exact);
    }
    for (const prefix of search.prefixes) {
      // Every tag that starts with "x." sorts in ["x.", "x/"), since '/' follows '.'.
      terms.push('(tag >= ? AND tag < ?)');
      params.push(prefix, `${prefix.slice(0, -1)}/`);
    }
    if (terms.length === 0) return [];
    const requester = search.viewer.requesterId ?? -1;
    const sql = `
      WITH hits AS (SELECT node_id, COUNT(*) AS score FROM node_tags WHERE ${terms.join(' OR ')} GROUP BY node_id)
      SELECT n.*, h.score AS score FROM hits h JOIN nodes n ON n.node_id = h.node_id
      WHERE n.live = 1 AND n.last_seen >= ? AND (
        n.public = 1 OR n.node_id = ?
        OR (EXISTS (SELECT 1 FROM trust_reports WHERE from_id = n.node_id AND to_id = ?)
            AND EXISTS (SELECT 1 FROM trust_reports WHERE to_id = n.node_id AND from_id = ?))
        OR EXISTS (SELECT 1 FROM members m1 JOIN members m2 ON m1.network_id = m2.network_id
                   WHERE m1.node_id = n.node_id AND m2.node_id = ?))
      ORDER BY h.score DESC, n.last_seen DESC, n.node_id ASC
      LIMIT ? OFFSET ?`;
    const rows = this.#stmt(sql).all(
      ...params,
      search.liveSince,
      requester,
      requester,
      requester,
      requester,
      search.limit,
      search.offset,
    ) as (NodeRow & { score: number })[];
    return rows.map((row) => ({ node: toNode(row), score: row.score }));
  }

  listBackbone(page: PageRequest, includePrivate: boolean): NodeRecord[] {
    const sql = includePrivate
      ? 'SELECT * FROM nodes WHERE live = 1 AND last_seen >= ? ORDER BY node_id LIMIT ? OFFSET ?'
      : 'SELECT * FROM nodes WHERE live = 1 AND public = 1 AND last_seen >= ? ORDER BY node_id LIMIT ? OFFSET ?';
    return this.#nodeRows(sql, page.liveSince, page.limit, page.offset);
  }

  createNetwork(network: Omit<NetworkRecord, 'networkId'>, maxId: number): NetworkRecord | undefined {
    const row = this.#stmt('SELECT MAX(network_id) AS id FROM networks').get() as { id: number | null };
    const networkId = (row.id ?? 0) + 1;
    if (networkId > maxId) return undefined;
    this.#stmt(
      'INSERT INTO networks (network_id, name, join_rule, token_hash, creator_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(networkId, network.name, network.joinRule, network.tokenHash, network.creatorId, network.createdAt);
    return { networkId, ...network };
  }

  getNetwork(networkId: number): NetworkRecord | undefined {
    const row = this.#stmt('SELECT * FROM networks WHERE network_id = ?').get(networkId) as
      | NetworkRow
      | undefined;
    return row === undefined ? undefined : toNetwork(row);
  }

  getNetworkByName(name: string): NetworkRecord | undefined {
    const row = this.#stmt('SELECT * FROM networks WHERE name = ?').get(name) as NetworkRow | undefined;
    return row === undefined ? undefined : toNetwork(row);
  }

  listNetworks(): NetworkSummary[] {
    const rows = this.#stmt(
      `SELECT w.*, (SELECT COUNT(*) FROM members m WHERE m.network_id = w.network_id) AS members
       FROM networks w ORDER BY w.network_id`,
    ).all() as (NetworkRow & { members: number })[];
    return rows.map((row) => ({ ...toNetwork(row), members: row.members }));
  }

  addMember(networkId: number, nodeId: number, now: number): void {
    this.#stmt('INSERT OR IGNORE INTO members (network_id, node_id, joined_at) VALUES (?, ?, ?)').run(
      networkId,
      nodeId,
      now,
    );
  }

  removeMember(networkId: number, nodeId: number): boolean {
    return (
      this.#stmt('DELETE FROM members WHERE network_id = ? AND node_id = ?').run(networkId, nodeId).changes >
      0
    );
  }

  isMember(networkId: number, nodeId: number): boolean {
    return (
      this.#stmt('SELECT 1 FROM members WHERE network_id = ? AND node_id = ?').get(networkId, nodeId) !==
      undefined
    );
  }

  memberships(nodeId: number): number[] {
    const rows = this.#stmt('SELECT network_id FROM members WHERE node_id = ? ORDER BY network_id').all(
      nodeId,
    ) as {
      network_id: number;
    }[];
    return rows.map((row) => row.network_id);
  }

  listMembers(networkId: number, page: PageRequest): NodeRecord[] {
    return this.#nodeRows(
      `SELECT n.* FROM members m JOIN nodes n ON n.node_id = m.node_id
       WHERE m.network_id = ? AND n.live = 1 AND n.last_seen >= ? ORDER BY n.node_id LIMIT ? OFFSET ?`,
      networkId,
      page.liveSince,
      page.limit,
      page.offset,
    );
  }

  shareNetwork(a: number, b: number): boolean {
    return (
      this.#stmt(
        `SELECT 1 FROM members m1 JOIN members m2 ON m1.network_id = m2.network_id
         WHERE m1.node_id = ? AND m2.node_id = ? LIMIT 1`,
      ).get(a, b) !== undefined
    );
  }

  addInvite(target: number, invite: Invite): void {
    this.#stmt(
      'INSERT OR REPLACE INTO invites (target_id, network_id, inviter_id, at, expires_at) VALUES (?, ?, ?, ?, ?)',
    ).run(target, invite.networkId, invite.inviterId, invite.at, invite.expiresAt);
  }

  countInvites(target: number, now: number): number {
    const row = this.#stmt('SELECT COUNT(*) AS n FROM invites WHERE target_id = ? AND expires_at > ?').get(
      target,
      now,
    ) as { n: number };
    return row.n;
  }

  takeInvite(target: number, networkId: number, now: number): Invite | undefined {
    const row = this.#stmt(
      'SELECT * FROM invites WHERE target_id = ? AND network_id = ? AND expires_at > ?',
    ).get(target, networkId, now) as
      | { network_id: number; inviter_id: number; at: number; expires_at: number }
      | undefined;
    if (row === undefined) return undefined;
    this.#stmt('DELETE FROM invites WHERE target_id = ? AND network_id = ?').run(target, networkId);
    return { networkId: row.network_id, inviterId: row.inviter_id, at: row.at, expiresAt: row.expires_at };
  }

  listInvites(target: number, now: number): Invite[] {
    const rows = this.#stmt('SELECT * FROM invites WHERE target_id = ? AND expires_at > ? ORDER BY at').all(
      target,
      now,
    ) as { network_id: number; inviter_id: number; at: number; expires_at: number }[];
    return rows.map((row) => ({
      networkId: row.network_id,
      inviterId: row.inviter_id,
      at: row.at,
      expiresAt: row.expires_at,
    }));
  }

  addTrust(from: number, to: number, now: number): void {
    this.#stmt('INSERT OR IGNORE INTO trust_reports (from_id, to_id, at) VALUES (?, ?, ?)').run(
      from,
      to,
      now,
    );
  }

  removeTrust(a: number, b: number): boolean {
    // Either side's revocation ends the pair: both reports go.
    return (
      this.#stmt(
        'DELETE FROM trust_reports WHERE (from_id = ? AND to_id = ?) OR (from_id = ? AND to_id = ?)',
      ).run(a, b, b, a).changes > 0
    );
  }

  hasTrust(a: number, b: number): boolean {
    return (
      (
        this.#stmt(
          'SELECT COUNT(*) AS n FROM trust_reports WHERE (from_id = ? AND to_id = ?) OR (from_id = ? AND to_id = ?)',
        ).get(a, b, b, a) as { n: number }
      ).n === 2
    );
  }

  addHandshakeRequest(to: number, request: HandshakeRequest): void {
    this.#stmt(
      'INSERT OR REPLACE INTO handshake_requests (to_id, from_id, justification, at) VALUES (?, ?, ?, ?)',
    ).run(to, request.fromNodeId, request.justification, request.at);
  }

  hasHandshakeRequest(to: number, from: number): boolean {
    return (
      this.#stmt('SELECT 1 FROM handshake_requests WHERE to_id = ? AND from_id = ?').get(to, from) !==
      undefined
    );
  }

  removeHandshakeRequest(to: number, from: number): boolean {
    return (
      this.#stmt('DELETE FROM handshake_requests WHERE to_id = ? AND from_id = ?').run(to, from).changes > 0
    );
  }

  countHandshakeRequests(to: number): number {
    const row = this.#stmt('SELECT COUNT(*) AS n FROM handshake_requests WHERE to_id = ?').get(to) as {
      n: number;
    };
    return row.n;
  }

  countHandshakeResponses(to: number): number {
    const row = this.#stmt('SELECT COUNT(*) AS n FROM handshake_responses WHERE to_id = ?').get(to) as {
      n: number;
    };
    return row.n;
  }

  addHandshakeResponse(to: number, response: HandshakeResponse): void {
    // One response per pair: a node answering again replaces its answer, it does not pile up.
    this.#stmt('DELETE FROM handshake_responses WHERE to_id = ? AND from_id = ?').run(
      to,
      response.fromNodeId,
    );
    this.#stmt('INSERT INTO handshake_responses (to_id, from_id, accept, at) VALUES (?, ?, ?, ?)').run(
      to,
      response.fromNodeId,
      response.accept ? 1 : 0,
      response.at,
    );
  }

  takeHandshakes(nodeId: number): { requests: HandshakeRequest[]; responses: HandshakeResponse[] } {
    const requests = (
      this.#stmt('SELECT from_id, justification, at FROM handshake_requests WHERE to_id = ? ORDER BY at').all(
        nodeId,
      ) as { from_id: number; justification: string; at: number }[]
    ).map((row) => ({ fromNodeId: row.from_id, justification: row.justification, at: row.at }));
    const responses = (
      this.#stmt('SELECT from_id, accept, at FROM handshake_responses WHERE to_id = ? ORDER BY seq').all(
        nodeId,
      ) as {
        from_id: number;
        accept: number;
        at: number;
      }[]
    ).map((row) => ({ fromNodeId: row.from_id, accept: row.accept === 1, at: row.at }));
    this.#stmt('DELETE FROM handshake_requests WHERE to_id = ?').run(nodeId);
    this.#stmt('DELETE FROM handshake_responses WHERE to_id = ?').run(nodeId);
    return { requests, responses };
  }

  rememberNonce(scope: string, nonce: string, expiresAt: number): boolean {
    return (
      this.#stmt('INSERT OR IGNORE INTO nonces (scope, nonce, expires_at) VALUES (?, ?, ?)').run(
        scope,
        nonce,
        expiresAt,
      ).changes === 1
    );
  }

  pruneNonces(now: number): number {
    return this.#stmt('DELETE FROM nonces WHERE expires_at <= ?').run(now).changes;
  }

  upsertBeacon(beacon: BeaconRecord): void {
    this.#stmt(
      `INSERT INTO beacons (beacon_id, addr, last_seen) VALUES (?, ?, ?)
       ON CONFLICT (beacon_id) DO UPDATE SET addr = excluded.addr, last_seen = excluded.last_seen`,
    ).run(beacon.beaconId, beacon.addr, beacon.lastSeen);
  }

  listBeacons(since: number): BeaconRecord[] {
    const rows = this.#stmt(
      'SELECT beacon_id, addr, last_seen FROM beacons WHERE last_seen >= ? ORDER BY beacon_id',
    ).all(since) as { beacon_id: string; addr: string; last_seen: number }[];
    return rows.map((row) => ({ beaconId: row.beacon_id, addr: row.addr, lastSeen: row.last_seen }));
  }

  pruneBeacons(before: number): number {
    return this.#stmt('DELETE FROM beacons WHERE last_seen < ?').run(before).changes;
  }

  pruneInvites(now: number): number {
    return this.#stmt('DELETE FROM invites WHERE expires_at <= ?').run(now).changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
