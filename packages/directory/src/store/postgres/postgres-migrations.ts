import type { Migration } from '../migrations.js';

/**
 * The PostgreSQL schema, as an append-only list like the SQLite one (`MIGRATIONS`): the same tables
 * and constraints, in PostgreSQL's types. Ids come from sequences, since several registry instances
 * may create nodes at once (`MAX(id) + 1` would race); text compared by ranges (tag prefixes) uses
 * the C collation so that `x.` ≤ tag < `x/` means "starts with x." whatever the database's locale.
 * `pilot_schema` holds the number of migrations applied. Never edit a migration that has shipped.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'nodes, tags, networks, members, invites, trust, handshakes, nonces, beacons',
    sql: `
      CREATE SEQUENCE node_ids AS BIGINT MINVALUE 1;
      CREATE SEQUENCE network_ids AS BIGINT MINVALUE 1;
      CREATE TABLE nodes (
        node_id        BIGINT  PRIMARY KEY,
        public_key     TEXT    NOT NULL UNIQUE,
        owner          TEXT,
        listen_addr    TEXT,
        observed_addr  TEXT,
        lan_addrs      TEXT    NOT NULL DEFAULT '[]',
        hostname       TEXT,
        tags           TEXT    NOT NULL DEFAULT '[]',
        public         BOOLEAN NOT NULL DEFAULT FALSE,
        version        TEXT,
        registered_at  BIGINT  NOT NULL,
        key_changed_at BIGINT  NOT NULL,
        last_seen      BIGINT  NOT NULL,
        live           BOOLEAN NOT NULL DEFAULT TRUE,
        fresh_only     BOOLEAN NOT NULL DEFAULT FALSE
      );
      CREATE UNIQUE INDEX nodes_hostname ON nodes(hostname) WHERE hostname IS NOT NULL;
      CREATE INDEX nodes_owner ON nodes(owner, last_seen) WHERE owner IS NOT NULL;
      CREATE INDEX nodes_live_seen ON nodes(last_seen) WHERE live;

      CREATE TABLE node_tags (
        tag     TEXT COLLATE "C" NOT NULL,
        node_id BIGINT NOT NULL,
        PRIMARY KEY (tag, node_id)
      );
      CREATE INDEX node_tags_node ON node_tags(node_id);

      CREATE TABLE networks (
        network_id BIGINT PRIMARY KEY,
        name       TEXT   NOT NULL UNIQUE,
        join_rule  TEXT   NOT NULL,
        token_hash TEXT,
        creator_id BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE members (
        network_id BIGINT NOT NULL,
        node_id    BIGINT NOT NULL,
        joined_at  BIGINT NOT NULL,
        PRIMARY KEY (network_id, node_id)
      );
      CREATE INDEX members_node ON members(node_id, network_id);

      CREATE TABLE invites (
        target_id  BIGINT NOT NULL,
        network_id BIGINT NOT NULL,
        inviter_id BIGINT NOT NULL,
        at         BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (target_id, network_id)
      );

      CREATE TABLE trust (
        a  BIGINT NOT NULL,
        b  BIGINT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (a, b)
      );

      CREATE TABLE handshake_requests (
        to_id         BIGINT NOT NULL,
        from_id       BIGINT NOT NULL,
        justification TEXT   NOT NULL,
        at            BIGINT NOT NULL,
        PRIMARY KEY (to_id, from_id)
      );
      CREATE TABLE handshake_responses (
        seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        to_id   BIGINT  NOT NULL,
        from_id BIGINT  NOT NULL,
        accept  BOOLEAN NOT NULL,
        at      BIGINT  NOT NULL
      );
      CREATE INDEX handshake_responses_to ON handshake_responses(to_id);

      CREATE TABLE nonces (
        scope      TEXT   NOT NULL,
        nonce      TEXT   NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (scope, nonce)
      );
      CREATE INDEX nonces_expiry ON nonces(expires_at);

      CREATE TABLE beacons (
        beacon_id TEXT   PRIMARY KEY,
        addr      TEXT   NOT NULL,
        last_seen BIGINT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description:
      'trust as directed reports (a pair reveals only once both sides reported), and the proof of a key rotation',
    sql: `
      CREATE TABLE trust_reports (
        from_id BIGINT NOT NULL,
        to_id   BIGINT NOT NULL,
        at      BIGINT NOT NULL,
        PRIMARY KEY (from_id, to_id)
      );
      CREATE INDEX trust_reports_to ON trust_reports(to_id);
      -- Pairs recorded before were accepted as mutual: both directions keep them.
      INSERT INTO trust_reports (from_id, to_id, at) SELECT a, b, at FROM trust ON CONFLICT DO NOTHING;
      INSERT INTO trust_reports (from_id, to_id, at) SELECT b, a, at FROM trust ON CONFLICT DO NOTHING;
      DROP TABLE trust;

      ALTER TABLE nodes ADD COLUMN previous_key TEXT;
      ALTER TABLE nodes ADD COLUMN rotation_proof TEXT;
    `,
  },
];

/** The PostgreSQL schema version this code writes. */
export const POSTGRES_SCHEMA_VERSION: number = POSTGRES_MIGRATIONS.length;
