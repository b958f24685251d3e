/**
 * The schema, as an append-only list of migrations. The database's `PRAGMA user_version` holds the
 * number of migrations applied; opening a database applies the missing ones, each in its own
 * transaction, and refuses a database whose version is newer than this list (written by a newer
 * release: running old code on it could corrupt what it does not understand).
 *
 * Never edit a migration that has shipped: add a new one.
 */
export type Migration = { readonly version: number; readonly description: string; readonly sql: string };

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'nodes, tags, networks, members, invites, trust, handshakes, nonces, beacons',
    sql: `
      CREATE TABLE nodes (
        node_id        INTEGER PRIMARY KEY,
        public_key     TEXT    NOT NULL UNIQUE,
        owner          TEXT,
        listen_addr    TEXT,
        observed_addr  TEXT,
        lan_addrs      TEXT    NOT NULL DEFAULT '[]',
        hostname       TEXT,
        tags           TEXT    NOT NULL DEFAULT '[]',
        public         INTEGER NOT NULL DEFAULT 0,
        version        TEXT,
        registered_at  INTEGER NOT NULL,
        key_changed_at INTEGER NOT NULL,
        last_seen      INTEGER NOT NULL,
        live           INTEGER NOT NULL DEFAULT 1,
        fresh_only     INTEGER NOT NULL DEFAULT 0
      );
      CREATE UNIQUE INDEX nodes_hostname ON nodes(hostname) WHERE hostname IS NOT NULL;
      CREATE INDEX nodes_owner ON nodes(owner, last_seen) WHERE owner IS NOT NULL;
      CREATE INDEX nodes_live_seen ON nodes(last_seen) WHERE live = 1;

      CREATE TABLE node_tags (
        tag     TEXT    NOT NULL,
        node_id INTEGER NOT NULL,
        PRIMARY KEY (tag, node_id)
      ) WITHOUT ROWID;
      CREATE INDEX node_tags_node ON node_tags(node_id);

      CREATE TABLE networks (
        network_id INTEGER PRIMARY KEY,
        name       TEXT    NOT NULL UNIQUE,
        join_rule  TEXT    NOT NULL,
        token_hash TEXT,
        creator_id INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE members (
        network_id INTEGER NOT NULL,
        node_id    INTEGER NOT NULL,
        joined_at  INTEGER NOT NULL,
        PRIMARY KEY (network_id, node_id)
      ) WITHOUT ROWID;
      CREATE INDEX members_node ON members(node_id, network_id);

      CREATE TABLE invites (
        target_id  INTEGER NOT NULL,
        network_id INTEGER NOT NULL,
        inviter_id INTEGER NOT NULL,
        at         INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (target_id, network_id)
      ) WITHOUT ROWID;

      CREATE TABLE trust (
        a  INTEGER NOT NULL,
        b  INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (a, b)
      ) WITHOUT ROWID;

      CREATE TABLE handshake_requests (
        to_id         INTEGER NOT NULL,
        from_id       INTEGER NOT NULL,
        justification TEXT    NOT NULL,
        at            INTEGER NOT NULL,
        PRIMARY KEY (to_id, from_id)
      ) WITHOUT ROWID;
      CREATE TABLE handshake_responses (
        seq     INTEGER PRIMARY KEY,
        to_id   INTEGER NOT NULL,
        from_id INTEGER NOT NULL,
        accept  INTEGER NOT NULL,
        at      INTEGER NOT NULL
      );
      CREATE INDEX handshake_responses_to ON handshake_responses(to_id);

      CREATE TABLE nonces (
        scope      TEXT    NOT NULL,
        nonce      TEXT    NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (scope, nonce)
      ) WITHOUT ROWID;
      CREATE INDEX nonces_expiry ON nonces(expires_at);

      CREATE TABLE beacons (
        beacon_id TEXT    PRIMARY KEY,
        addr      TEXT    NOT NULL,
        last_seen INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    description:
      'trust as directed reports (a pair reveals only once both sides reported), and the proof of a key rotation',
    sql: `
      CREATE TABLE trust_reports (
        from_id INTEGER NOT NULL,
        to_id   INTEGER NOT NULL,
        at      INTEGER NOT NULL,
        PRIMARY KEY (from_id, to_id)
      ) WITHOUT ROWID;
      CREATE INDEX trust_reports_to ON trust_reports(to_id);
      -- Pairs recorded before were accepted as mutual: both directions keep them.
      INSERT OR IGNORE INTO trust_reports (from_id, to_id, at) SELECT a, b, at FROM trust;
      INSERT OR IGNORE INTO trust_reports (from_id, to_id, at) SELECT b, a, at FROM trust;
      DROP TABLE trust;

      ALTER TABLE nodes ADD COLUMN previous_key TEXT;
      ALTER TABLE nodes ADD COLUMN rotation_proof TEXT;
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;
