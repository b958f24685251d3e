// `@pilot/directory`: the union of its three parts, each of which lists its names. Importers that
// need only one part take `@pilot/directory/client`, `/server` or `/sqlite`, so that a client never
// loads the server or the native SQLite addon.
export * from './client.js';
export * from './server.js';
export * from './sqlite.js';
