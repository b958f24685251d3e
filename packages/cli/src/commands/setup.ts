import type { Command } from '../command.js';
import { CONFIG_KEYS, configPath, configValue, readConfig, writeConfig } from '../config.js';
import { usageError } from '../errors.js';
import { VERSION } from '../version.js';

const init: Command = {
  name: 'init',
  summary: 'write <PILOT_HOME>/config.json with the registry, beacon, hostname and socket to use',
  flags: {
    registry: { type: 'string', help: 'registry host:port' },
    beacon: { type: 'string', help: 'beacon host:port' },
    hostname: { type: 'string', help: 'hostname to claim at start' },
    socket: { type: 'string', help: 'IPC socket path' },
  },
  fields: ['home', 'path', 'config'],
  errors: ['invalid_argument', 'io_error'],
  async run(context, args) {
    const registry = args.string('registry');
    if (registry === undefined) throw usageError('init needs --registry host:port');
    const config = { ...readConfig(context.home), registry };
    for (const key of ['beacon', 'hostname', 'socket'] as const) {
      const value = args.string(key);
      if (value !== undefined) (config as Record<string, unknown>)[key] = value;
    }
    const path = writeConfig(context.home, config);
    return { data: { home: context.home, path, config }, human: `wrote ${path}` };
  },
};

const config: Command = {
  name: 'config',
  summary: 'show the config, or change keys with --set key=value (an empty value removes the key)',
  flags: { set: { type: 'list', help: 'key=value; repeatable' } },
  fields: ['path', 'config'],
  errors: ['invalid_argument', 'io_error'],
  async run(context, args) {
    const current = readConfig(context.home);
    const sets = args.strings('set');
    if (sets.length === 0) {
      return { data: { path: configPath(context.home), config: current } };
    }
    const next: Record<string, unknown> = { ...current };
    for (const assignment of sets) {
      const eq = assignment.indexOf('=');
      if (eq <= 0) throw usageError(`--set takes key=value, not "${assignment}"`);
      const key = assignment.slice(0, eq);
      const value = assignment.slice(eq + 1);
      if (!/^[a-z][a-z0-9_-]*$/.test(key))
        throw usageError(`bad config key "${key}" (known: ${CONFIG_KEYS.join(', ')})`);
      if (value === '') delete next[key];
      else next[key] = configValue(value);
    }
    const path = writeConfig(context.home, next);
    return { data: { path, config: next }, human: `wrote ${path}` };
  },
};

const version: Command = {
  name: 'version',
  summary: "print pilotctl's version",
  fields: ['version'],
  errors: [],
  async run() {
    return { data: { version: VERSION }, human: `pilotctl ${VERSION}` };
  },
};

export const setupCommands: readonly Command[] = [init, config, version];
