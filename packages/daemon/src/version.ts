/** The daemon's version, reported in Info and to the registry. */
export const DAEMON_VERSION = '0.1.0';
