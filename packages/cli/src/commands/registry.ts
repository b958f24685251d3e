import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Args } from '../argv.js';
import { type Command, DAEMON_ERRORS } from '../command.js';
import { cliError, usageError } from '../errors.js';
import { registryClient } from '../registry.js';

const REGISTRY_FLAG = {
  registry: { type: 'string', help: "registry host:port (default: the daemon's, or config.json)" },
  'registry-tls': {
    type: 'boolean',
    help: 'require TLS to the registry (--registry-tls=false: plaintext; default: as the daemon, else TLS when offered)',
  },
  'registry-fingerprint': { type: 'string', help: "SHA-256 of the registry's certificate, hex (pins it)" },
} as const;

/** The registry link flags, for registryClient. */
function linkFlags(args: Args): { tls?: boolean; fingerprint?: string } {
  const fingerprint = args.string('registry-fingerprint');
  return {
    ...(args.has('registry-tls') ? { tls: args.bool('registry-tls') } : {}),
    ...(fingerprint === undefined ? {} : { fingerprint }),
  };
}

const lookup: Command = {
  name: 'lookup',
  summary: 'ask the registry about a node ID',
  args: [{ name: 'node', help: 'node ID or address' }],
  flags: REGISTRY_FLAG,
  fields: ['node_id', 'address', 'hostname', 'public', 'tags', 'public_key', 'networks'],
  errors: ['invalid_argument', 'not_found', 'unavailable'],
  async run(context, args) {
    const text = args.need('node');
    const match = /^\d+$/.test(text)
      ? Number(text)
      : /^\d+:[0-9a-f]{4}\.([0-9a-f]{4})\.([0-9a-f]{4})$/i.exec(text);
    const node =
      typeof match === 'number'
        ? match
        : match === null
          ? Number.NaN
          : Number.parseInt(`${match[1]}${match[2]}`, 16);
    if (!Number.isInteger(node) || node < 0 || node > 0xffff_ffff)
      throw usageError(`"${text}" is not a node ID or address`);
    const client = await registryClient(context, args.string('registry'), linkFlags(args));
    try {
      const info = await client.lookup(node);
      const data = {
        node_id: info.nodeId,
        address: info.address,
        hostname: info.hostname ?? '',
        public: info.public,
        tags: info.tags,
        public_key: info.publicKey,
        networks: info.networks,
      };
      return {
        data,
        human: `${data.address} (node ${data.node_id})${data.hostname ? ` ${data.hostname}` : ''}, ${data.public ? 'public' : 'private'}${data.tags.length > 0 ? `, tags ${data.tags.join(',')}` : ''}`,
      };
    } finally {
      client.close();
    }
  },
};

const register: Command = {
  name: 'register',
  summary: "register this home's identity with the registry directly (the daemon does it by itself)",
  args: [{ name: 'listen_addr', help: 'UDP host:port to announce', optional: true }],
  flags: {
    ...REGISTRY_FLAG,
    identity: { type: 'string', help: 'identity file', default: '<home>/identity.json' },
  },
  fields: ['node_id', 'address'],
  errors: ['invalid_argument', 'not_found', 'io_error', 'unavailable', 'already_exists'],
  async run(context, args) {
    const path = args.string('identity') ?? join(context.home, 'identity.json');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw cliError(
        'not_found',
        `no identity at ${path}: ${(error as Error).message}`,
        'start the daemon once (it creates the identity), or pass --identity',
      );
    }
    const [{ decodeIdentityFile }, { signerFromIdentity }] = await Promise.all([
      import('@pilot/crypto'),
      import('@pilot/directory/client'),
    ]);
    const identity = decodeIdentityFile(text);
    const client = await registryClient(context, args.string('registry'), linkFlags(args));
    try {
      const listenAddr = args.arg('listen_addr');
      const result = await client.register(
        signerFromIdentity(identity),
        listenAddr === undefined ? {} : { listenAddr },
      );
      return {
        data: { node_id: result.nodeId, address: result.address },
        human: `registered as ${result.address} (node ${result.nodeId})`,
      };
    } finally {
      client.close();
    }
  },
};

const deregister: Command = {
  name: 'deregister',
  summary: 'remove this node from the registry (the daemon keeps running, unreachable by name)',
  fields: ['deregistered'],
  errors: [...DAEMON_ERRORS, 'unavailable'],
  async run(context) {
    await (await context.driver()).deregister({ timeoutMs: 30_000 });
    return { data: { deregistered: true }, human: 'deregistered' };
  },
};

export const registryCommands: readonly Command[] = [lookup, register, deregister];
