import { DirErrorCode, dirError } from '../../errors.js';
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
} from '../directory-store.js';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './postgres-migrations.js';
import { PostgresQueryError, type QueryResult, SyncConnection } from './sync-connection.js';

export type PostgresStoreOptions = {
  /** `postgres://user:password@host:port/database`; `postgres://user@/db?host=/run/postgresql` for a socket. */
  readonly url: string;
  /** How long one statement may take (a lock held by another instance, a slow server). Default 30 s. */
  readonly statementTimeoutMs?: number;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
};

type Row = Record<string, unknown>;

function parseStringArray(text: unknown): string[] {
  if (typeof text !== 'string') return [];
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value));

function toNode(row: Row): NodeRecord {
  return {
    nodeId: num(row.node_id),
    publicKey: String(row.public_key),
    owner: str(row.owner),
    listenAddr: str(row.listen_addr),
    observedAddr: str(row.observed_addr),
    lanAddrs: parseStringArray(row.lan_addrs),
    hostname: str(row.hostname),
    tags: parseStringArray(row.tags),
    public: row.public === true,
    version: str(row.version),
    registeredAt: num(row.registered_at),
    keyChangedAt: num(row.key_changed_at),
    lastSeen: num(row.last_seen),
    live: row.live === true,
    freshOnly: row.fresh_only === true,
    previousKey: str(row.previous_key),
    rotationProof: str(row.rotation_proof),
  };
}

function toNetwork(row: Row): NetworkRecord {
  return {
    networkId: num(row.network_id),
    name: String(row.name),
    joinRule: String(row.join_rule) as JoinRule,
    tokenHash: str(row.token_hash),
    creatorId: num(row.creator_id),
    createdAt: num(row.created_at),
  };
}

function toInvite(row: Row): Invite {
  return {
    networkId: num(row.network_id),
    inviterId: num(row.inviter_id),
    at: num(row.at),
    expiresAt: num(row.expires_at),
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

// Any key of the advisory lock space, the same for every instance: migrations run one at a time.
const MIGRATION_LOCK = 0x70696c6f; // "pilo"

/**
 * The directory in PostgreSQL, for several registry instances sharing one database. It implements
 * the same `DirectoryStore` as `SqliteDirectoryStore`, with the same transaction semantics:
 * `transaction` is a database transaction (READ COMMITTED), nested calls are savepoints, and the
 * uniqueness rules (key, hostname, nonce) are constraints, so two instances racing get one success
 * and one refused request, never a duplicate. A commit is acknowledged once PostgreSQL has flushed
 * its WAL (`synchronous_commit = on`, the server default): the crash guarantee of SQLite's FULL.
 *
 * Statements run through a blocking bridge to a worker thread (`SyncConnection`); see the README.
 */
export class PostgresDirectoryStore implements DirectoryStore {
  readonly #db: SyncConnection;
  #depth = 0;

  constructor(options: PostgresStoreOptions) {
    this.#db = new SyncConnection({
      url: options.url,
      ...(options.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: options.statementTimeoutMs }),
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    try {
      this.migrate();
    } catch (error) {
      void this.#db.close();
      throw error;
    }
  }

  /** Applies the missing migrations (under an advisory lock: instances starting together take turns). */
  migrate(): number {
    return this.transaction(() => {
      this.#q('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      this.#q('CREATE TABLE IF NOT EXISTS pilot_schema (version INTEGER NOT NULL)');
      const current = this.#one('SELECT MAX(version) AS v FROM pilot_schema')?.v;
      const version = current === null || current === undefined ? 0 : num(current);
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw dirError(
          DirErrorCode.SCHEMA_TOO_NEW,
          `database schema version ${version} is newer than this code's ${POSTGRES_SCHEMA_VERSION}`,
        );
      }
      for (const migration of POSTGRES_MIGRATIONS) {
        if (migration.version <= version) continue;
        this.#q(migration.sql);
        // One row: the version the schema is at.
        this.#q('DELETE FROM pilot_schema');
        this.#q('INSERT INTO pilot_schema (version) VALUES ($1)', [migration.version]);
      }
      return POSTGRES_SCHEMA_VERSION;
    });
  }

  /** Runs one statement; a PostgreSQL failure becomes DIR_STORE_FAILED (the registry's "storage error"). */
  #q(sql: string, params: readonly unknown[] = []): QueryResult {
    try {
      return this.#db.query(sql, params);
    } catch (error) {
      if (error instanceof PostgresQueryError) {
        throw dirError(
          DirErrorCode.STORE_FAILED,
          `request failed: storage error (${error.code ?? 'no code'})`,
          error,
        );
      }
      throw error;
    }
  }

  #one(sql: string, params: readonly unknown[] = []): Row | undefined {
    return this.#q(sql, params).rows[0];
  }

  #node(sql: string, params: readonly unknown[]): NodeRecord | undefined {
    const row = this.#one(sql, params);
    return row === undefined ? undefined : toNode(row);
  }

  #nodes(sql: string, params: readonly unknown[]): NodeRecord[] {
    return this.#q(sql, params).rows.map(toNode);
  }

  /**
   * A statement whose result is not needed. It still waits: were its error to surface later, it
   * could fail a neighbouring request of the batch instead of its own.
   */
  #write(sql: string, params: readonly unknown[]): void {
    this.#q(sql, params);
  }

  transaction<T>(fn: () => T): T {
    const depth = this.#depth;
    if (depth === 0) this.#db.send('BEGIN', [], 'begin');
    else this.#db.send(`SAVEPOINT s${depth}`);
    this.#depth = depth + 1;
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.#depth = depth;
      try {
        if (depth === 0) this.#db.query('ROLLBACK', [], 'end');
        else this.#db.send(`ROLLBACK TO SAVEPOINT s${depth}; RELEASE SAVEPOINT s${depth}`);
      } catch {
        // The connection is gone: the transaction died with it.
      }
      throw error;
    }
    this.#depth = depth;
    if (depth === 0) {
      try {
        this.#db.query('COMMIT', [], 'end');
      } catch (error) {
        if (error instanceof PostgresQueryError)
          throw dirError(DirErrorCode.STORE_FAILED, `commit failed (${error.code ?? 'no code'})`, error);
        throw error;
      }
    } else this.#db.send(`RELEASE SAVEPOINT s${depth}`);
    return result;
  }

  getNode(nodeId: number): NodeRecord | undefined {
    return this.#node('SELECT * FROM nodes WHERE node_id = $1', [nodeId]);
  }

  getNodeByKey(publicKey: string): NodeRecord | undefined {
    return this.#node('SELECT * FROM nodes WHERE public_key = $1', [publicKey]);
  }

  getNodesByOwner(owner: string, limit: number): NodeRecord[] {
    return this.#nodes('SELECT * FROM nodes WHERE owner = $1 ORDER BY last_seen DESC LIMIT $2', [
      owner,
      limit,
    ]);
  }

  countNodesByOwner(owner: string): number {
    return num(this.#one('SELECT COUNT(*) AS n FROM nodes WHERE owner = $1 AND live', [owner])?.n ?? 0);
  }

  getNodeByHostname(hostname: string): NodeRecord | undefined {
    return this.#node('SELECT * FROM nodes WHERE hostname = $1 AND live', [hostname]);
  }

  createNode(node: NewNode, firstId: number, maxId: number): NodeRecord | undefined {
    // A sequence, not MAX + 1: instances creating nodes at once get distinct ids (a rolled-back
    // registration leaves a gap). The first id is raised to `firstId` once.
    const id = num(
      this.#one(
        `SELECT CASE WHEN v < $1 THEN setval('node_ids', $1) ELSE v END AS id FROM nextval('node_ids') AS v`,
        [firstId],
      )?.id,
    );
    if (!(id <= maxId)) return undefined;
    return this.#node(
      `INSERT INTO nodes (node_id, public_key, owner, listen_addr, observed_addr, lan_addrs, version,
         registered_at, key_changed_at, last_seen, live, fresh_only)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, TRUE, $9) RETURNING *`,
      [
        id,
        node.publicKey,
        node.owner,
        node.listenAddr,
        node.observedAddr,
        JSON.stringify(node.lanAddrs),
        node.version,
        node.now,
        node.freshOnly,
      ],
    );
  }

  updateNode(nodeId: number, patch: NodePatch): void {
    const keys = (Object.keys(patch) as (keyof NodePatch)[]).filter((key) => patch[key] !== undefined);
    if (keys.length === 0) return;
    const values = keys.map((key) => (key === 'lanAddrs' ? JSON.stringify(patch[key]) : patch[key]));
    const sql = `UPDATE nodes SET ${keys.map((key, i) => `${PATCH_COLUMNS[key]} = $${i + 1}`).join(', ')} WHERE node_id = $${keys.length + 1}`;
    this.#write(sql, [...values, nodeId]);
  }

  setTags(nodeId: number, tags: readonly string[]): void {
    this.#write(
      `WITH gone AS (DELETE FROM node_tags WHERE node_id = $1),
            added AS (INSERT INTO node_tags (tag, node_id) SELECT DISTINCT t, $1 FROM unnest($2::text[]) AS t)
       UPDATE nodes SET tags = $3 WHERE node_id = $1`,
      [nodeId, tags, JSON.stringify(tags)],
    );
  }

  expireNodes(before: number): number {
    this.#write(
      'DELETE FROM node_tags WHERE node_id IN (SELECT node_id FROM nodes WHERE live AND last_seen < $1)',
      [before],
    );
    return this.#q(
      `UPDATE nodes SET live = FALSE, hostname = NULL, tags = '[]', public = FALSE WHERE live AND last_seen < $1`,
      [before],
    ).rowCount;
  }

  retireNode(nodeId: number): void {
    this.#write(
      `WITH gone AS (DELETE FROM node_tags WHERE node_id = $1)
       UPDATE nodes SET live = FALSE, hostname = NULL, tags = '[]', public = FALSE WHERE node_id = $1`,
      [nodeId],
    );
  }

  searchTags(search: TagSearch): TagHit[] {
    const terms: string[] = [];
    const params: unknown[] = [];
    if (search.exact.length > 0) {
      params.push(search.exact);
      terms.push(`tag = ANY($${params.length}::text[])`);
    }
    for (const prefix of search.prefixes) {
      // Every tag that starts with "x." sorts in ["x.", "x/") under the C collation of the column.
      params.push(prefix, `${prefix.slice(0, -1)}/`);
      terms.push(`(tag >= $${params.length - 1} AND tag < $${params.length})`);
    }
    if (terms.length === 0) return [];
    params.push(search.liveSince, search.viewer.requesterId ?? -1, search.limit, search.offset);
    const [since, requester, limit, offset] = [
      params.length - 3,
      params.length - 2,
      params.length - 1,
      params.length,
    ];
    const sql = `
      WITH hits AS (SELECT node_id, COUNT(*) AS score FROM node_tags WHERE ${terms.join(' OR ')} GROUP BY node_id)
      SELECT n.*, h.score AS score FROM hits h JOIN nodes n ON n.node_id = h.node_id
      WHERE n.live AND n.last_seen >= $${since} AND (
        n.public OR n.node_id = $${requester}
        OR (EXISTS (SELECT 1 FROM trust_reports WHERE from_id = n.node_id AND to_id = $${requester})
            AND EXISTS (SELECT 1 FROM trust_reports WHERE to_id = n.node_id AND from_id = $${requester}))
        OR EXISTS (SELECT 1 FROM members m1 JOIN members m2 ON m1.network_id = m2.network_id
                   WHERE m1.node_id = n.node_id AND m2.node_id = $${requester}))
      ORDER BY h.score DESC, n.last_seen DESC, n.node_id ASC
      LIMIT $${limit} OFFSET $${offset}`;
    return this.#q(sql, params).rows.map((row) => ({ node: toNode(row), score: num(row.score) }));
  }

  listBackbone(page: PageRequest, includePrivate: boolean): NodeRecord[] {
    const sql = includePrivate
      ? 'SELECT * FROM nodes WHERE live AND last_seen >= $1 ORDER BY node_id LIMIT $2 OFFSET $3'
      : 'SELECT * FROM nodes WHERE live AND public AND last_seen >= $1 ORDER BY node_id LIMIT $2 OFFSET $3';
    return this.#nodes(sql, [page.liveSince, page.limit, page.offset]);
  }

  createNetwork(network: Omit<NetworkRecord, 'networkId'>, maxId: number): NetworkRecord | undefined {
    const networkId = num(this.#one(`SELECT nextval('network_ids') AS id`)?.id);
    if (!(networkId <= maxId)) return undefined;
    this.#write(
      'INSERT INTO networks (network_id, name, join_rule, token_hash, creator_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [networkId, network.name, network.joinRule, network.tokenHash, network.creatorId, network.createdAt],
    );
    return { networkId, ...network };
  }

  getNetwork(networkId: number): NetworkRecord | undefined {
    const row = this.#one('SELECT * FROM networks WHERE network_id = $1', [networkId]);
    return row === undefined ? undefined : toNetwork(row);
  }

  getNetworkByName(name: string): NetworkRecord | undefined {
    const row = this.#one('SELECT * FROM networks WHERE name = $1', [name]);
    return row === undefined ? undefined : toNetwork(row);
  }

  listNetworks(): NetworkSummary[] {
    return this.#q(
      `SELECT w.*, (SELECT COUNT(*) FROM members m WHERE m.network_id = w.network_id) AS members
       FROM networks w ORDER BY w.network_id`,
    ).rows.map((row) => ({ ...toNetwork(row), members: num(row.members) }));
  }

  addMember(networkId: number, nodeId: number, now: number): void {
    this.#write(
      'INSERT INTO members (network_id, node_id, joined_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [networkId, nodeId, now],
    );
  }

  removeMember(networkId: number, nodeId: number): boolean {
    return (
      this.#q('DELETE FROM members WHERE network_id = $1 AND node_id = $2', [networkId, nodeId]).rowCount > 0
    );
  }

  isMember(networkId: number, nodeId: number): boolean {
    return (
      this.#one('SELECT 1 FROM members WHERE network_id = $1 AND node_id = $2', [networkId, nodeId]) !==
      undefined
    );
  }

  memberships(nodeId: number): number[] {
    return this.#q('SELECT network_id FROM members WHERE node_id = $1 ORDER BY network_id', [
      nodeId,
    ]).rows.map((row) => num(row.network_id));
  }

  listMembers(networkId: number, page: PageRequest): NodeRecord[] {
    return this.#nodes(
      `SELECT n.* FROM members m JOIN nodes n ON n.node_id = m.node_id
       WHERE m.network_id = $1 AND n.live AND n.last_seen >= $2 ORDER BY n.node_id LIMIT $3 OFFSET $4`,
      [networkId, page.liveSince, page.limit, page.offset],
    );
  }

  shareNetwork(a: number, b: number): boolean {
    return (
      this.#one(
        `SELECT 1 FROM members m1 JOIN members m2 ON m1.network_id = m2.network_id
         WHERE m1.node_id = $1 AND m2.node_id = $2 LIMIT 1`,
        [a, b],
      ) !== undefined
    );
  }

  addInvite(target: number, invite: Invite): void {
    this.#write(
      `INSERT INTO invites (target_id, network_id, inviter_id, at, expires_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (target_id, network_id) DO UPDATE
         SET inviter_id = excluded.inviter_id, at = excluded.at, expires_at = excluded.expires_at`,
      [target, invite.networkId, invite.inviterId, invite.at, invite.expiresAt],
    );
  }

  countInvites(target: number, now: number): number {
    return num(
      this.#one('SELECT COUNT(*) AS n FROM invites WHERE target_id = $1 AND expires_at > $2', [target, now])
        ?.n ?? 0,
    );
  }

  takeInvite(target: number, networkId: number, now: number): Invite | undefined {
    // One statement: two instances taking the same invite get it once.
    const row = this.#one(
      'DELETE FROM invites WHERE target_id = $1 AND network_id = $2 AND expires_at > $3 RETURNING *',
      [target, networkId, now],
    );
    if (row === undefined) return undefined;
    return toInvite(row);
  }

  listInvites(target: number, now: number): Invite[] {
    return this.#q('SELECT * FROM invites WHERE target_id = $1 AND expires_at > $2 ORDER BY at', [
      target,
      now,
    ]).rows.map(toInvite);
  }

  addTrust(from: number, to: number, now: number): void {
    this.#write('INSERT INTO trust_reports (from_id, to_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      from,
      to,
      now,
    ]);
  }

  removeTrust(a: number, b: number): boolean {
    // Either side's revocation ends the pair: both reports go.
    return (
      this.#q(
        'DELETE FROM trust_reports WHERE (from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1)',
        [a, b],
      ).rowCount > 0
    );
  }

  hasTrust(a: number, b: number): boolean {
    const row = this.#one(
      'SELECT COUNT(*) AS n FROM trust_reports WHERE (from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1)',
      [a, b],
    );
    return num(row?.n) === 2;
  }

  addHandshakeRequest(to: number, request: HandshakeRequest): void {
    this.#write(
      `INSERT INTO handshake_requests (to_id, from_id, justification, at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (to_id, from_id) DO UPDATE SET justification = excluded.justification, at = excluded.at`,
      [to, request.fromNodeId, request.justification, request.at],
    );
  }

  hasHandshakeRequest(to: number, from: number): boolean {
    return (
      this.#one('SELECT 1 FROM handshake_requests WHERE to_id = $1 AND from_id = $2', [to, from]) !==
      undefined
    );
  }

  removeHandshakeRequest(to: number, from: number): boolean {
    return (
      this.#q('DELETE FROM handshake_requests WHERE to_id = $1 AND from_id = $2', [to, from]).rowCount > 0
    );
  }

  countHandshakeRequests(to: number): number {
    return num(this.#one('SELECT COUNT(*) AS n FROM handshake_requests WHERE to_id = $1', [to])?.n ?? 0);
  }

  countHandshakeResponses(to: number): number {
    return num(this.#one('SELECT COUNT(*) AS n FROM handshake_responses WHERE to_id = $1', [to])?.n ?? 0);
  }

  addHandshakeResponse(to: number, response: HandshakeResponse): void {
    // One response per pair: a node answering again replaces its answer, it does not pile up.
    this.#write('DELETE FROM handshake_responses WHERE to_id = $1 AND from_id = $2', [
      to,
      response.fromNodeId,
    ]);
    this.#write('INSERT INTO handshake_responses (to_id, from_id, accept, at) VALUES ($1, $2, $3, $4)', [
      to,
      response.fromNodeId,
      response.accept,
      response.at,
    ]);
  }

  takeHandshakes(nodeId: number): { requests: HandshakeRequest[]; responses: HandshakeResponse[] } {
    // DELETE … RETURNING: what one instance hands out, another cannot hand out again.
    const requests = this.#q(
      'DELETE FROM handshake_requests WHERE to_id = $1 RETURNING from_id, justification, at',
      [nodeId],
    )
      .rows.map((row) => ({
        fromNodeId: num(row.from_id),
        justification: String(row.justification),
        at: num(row.at),
      }))
      .sort((x, y) => x.at - y.at);
    const responses = this.#q(
      'DELETE FROM handshake_responses WHERE to_id = $1 RETURNING seq, from_id, accept, at',
      [nodeId],
    )
      .rows.sort((x, y) => num(x.seq) - num(y.seq))
      .map((row) => ({ fromNodeId: num(row.from_id), accept: row.accept === true, at: num(row.at) }));
    return { requests, responses };
  }

  rememberNonce(scope: string, nonce: string, expiresAt: number): boolean {
    return (
      this.#q('INSERT INTO nonces (scope, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        scope,
        nonce,
        expiresAt,
      ]).rowCount === 1
    );
  }

  pruneNonces(now: number): number {
    return this.#q('DELETE FROM nonces WHERE expires_at <= $1', [now]).rowCount;
  }

  upsertBeacon(beacon: BeaconRecord): void {
    this.#write(
      `INSERT INTO beacons (beacon_id, addr, last_seen) VALUES ($1, $2, $3)
       ON CONFLICT (beacon_id) DO UPDATE SET addr = excluded.addr, last_seen = excluded.last_seen`,
      [beacon.beaconId, beacon.addr, beacon.lastSeen],
    );
  }

  listBeacons(since: number): BeaconRecord[] {
    return this.#q(
      'SELECT beacon_id, addr, last_seen FROM beacons WHERE last_seen >= $1 ORDER BY beacon_id',
      [since],
    ).rows.map((row) => ({
      beaconId: String(row.beacon_id),
      addr: String(row.addr),
      lastSeen: num(row.last_seen),
    }));
  }

  pruneBeacons(before: number): number {
    return this.#q('DELETE FROM beacons WHERE last_seen < $1', [before]).rowCount;
  }

  pruneInvites(now: number): number {
    return this.#q('DELETE FROM invites WHERE expires_at <= $1', [now]).rowCount;
  }

  /** Live nodes (for health reports and metrics; not part of `DirectoryStore`). */
  countLiveNodes(): number {
    return num(this.#one('SELECT COUNT(*) AS n FROM nodes WHERE live')?.n ?? 0);
  }

  /** Runs a read-only statement (dashboards, tests). */
  select(sql: string, params: readonly unknown[] = []): Row[] {
    return this.#q(sql, params).rows;
  }

  close(): void {
    void this.#db.close();
  }
}
