/** One tunnel peer in Info's `peer_list` (the tunnel manager's PeerInfo). */
export interface PeerJson {
  readonly node_id: number;
  readonly endpoint: string;
  readonly encrypted: boolean;
  readonly authenticated: boolean;
  /** True when the tunnel runs through the beacon's relay. */
  readonly relay?: boolean;
  /** `direct`, `relay` (the beacon over UDP) or `relay-tls` (the rendezvous' relay over WebSocket-over-TLS). */
  readonly path?: 'direct' | 'relay' | 'relay-tls';
  readonly setup_ms?: number;
  readonly last_seen_ms?: number;
  readonly bytes_sent?: number;
  readonly bytes_recv?: number;
  /** The datagram size used towards the peer now (path MTU discovery between pilot-ts peers). */
  readonly path_mtu?: number;
  readonly [key: string]: unknown;
}

/** One connection in Info's `conn_list` (reference keys). */
export interface ConnectionJson {
  readonly id: number;
  readonly local_port: number;
  readonly remote_addr: string;
  readonly remote_port: number;
  readonly state: string;
  readonly [key: string]: unknown;
}

/** The InfoOK document: the reference's keys plus ours. Fields a daemon may omit are optional. */
export interface InfoJson {
  readonly node_id: number;
  readonly address: string;
  readonly hostname?: string;
  readonly uptime_secs?: number;
  readonly connections?: number;
  readonly ports?: unknown;
  readonly peers?: number;
  readonly encrypt?: boolean;
  readonly public_key?: string;
  readonly version?: string;
  readonly pid?: number;
  readonly home?: string;
  readonly socket?: string;
  readonly registry?: string;
  readonly beacon?: string;
  readonly public?: boolean;
  readonly tags?: readonly string[];
  readonly endpoint?: string;
  readonly peer_list?: readonly PeerJson[];
  readonly conn_list?: readonly ConnectionJson[];
  readonly trusted?: number;
  readonly pending?: number;
  readonly [key: string]: unknown;
}

export interface HealthJson {
  readonly status: string;
  readonly uptime_seconds?: number;
  readonly connections?: number;
  readonly peers?: number;
  readonly bytes_sent?: number;
  readonly bytes_recv?: number;
  readonly [key: string]: unknown;
}

export interface ResolvedHost {
  readonly node_id: number;
  readonly address: string;
  readonly hostname: string;
  readonly public?: boolean;
  readonly [key: string]: unknown;
}

export interface PendingHandshake {
  readonly node_id: number;
  readonly justification?: string;
  readonly received_at?: number | string;
  readonly [key: string]: unknown;
}

export interface TrustedPeer {
  readonly node_id: number;
  readonly public_key?: string;
  /** Ours: SHA-256 of the pinned Ed25519 key, hex. */
  readonly key_fingerprint?: string;
  readonly approved_at?: number | string;
  readonly mutual?: boolean;
  readonly [key: string]: unknown;
}

/** A HandshakeOK document (shape depends on the sub-command). */
export interface HandshakeJson {
  readonly status?: string;
  readonly node_id?: number;
  readonly [key: string]: unknown;
}

/** A local file for the daemon to send itself (SendFile, pilot-ts only), as the caller's stat saw it. */
export interface LocalFile {
  /** Absolute path. */
  readonly path: string;
  /** The name the peer sees. */
  readonly name: string;
  readonly size: number;
  /** Device and inode: the daemon refuses a path that names another file where it runs. */
  readonly dev: number;
  readonly ino: number;
}

/** What the daemon sent of a LocalFile (SendFileOK). */
export interface SentFile {
  readonly bytes: number;
  readonly frames: number;
  /** SHA-256 of the bytes sent, hex (absent when `error` is set). */
  readonly sha256?: string;
  /** Why sending stopped part-way; the connection was reset. */
  readonly error?: string;
}
