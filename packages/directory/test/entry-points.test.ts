import { describe, expect, it } from 'vitest';
import * as client from '../src/client.js';
import * as all from '../src/index.js';
import * as server from '../src/server.js';
import * as sqlite from '../src/sqlite.js';

// `@pilot/directory` is the union of `/client`, `/server` and `/sqlite`: a name added to the root
// entry must also be given to the part it belongs to, or a client importing that part misses it.
describe('entry points', () => {
  it('the root entry exports exactly what the three parts do', () => {
    const parts = new Set([...Object.keys(client), ...Object.keys(server), ...Object.keys(sqlite)]);
    expect([...parts].sort()).toEqual(Object.keys(all).sort());
  });

  it('the client part has neither the server nor a store', () => {
    expect(Object.keys(client)).not.toContain('SqliteDirectoryStore');
    expect(Object.keys(client)).not.toContain('startDirectoryServer');
    expect(Object.keys(client)).not.toContain('RegistryHandler');
  });
});
