import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { PilotNode } from './pilot-node.js';
import type { Mounts, RemoteSessions } from './remote-sessions.js';
import type { Subscriptions } from './subscriptions.js';

/** A JSON Schema object, as tools/list publishes it. */
export type JsonSchema = { readonly [key: string]: unknown };

/** What a tool handler works with: the daemon and the host's shared state. */
export interface ToolContext {
  readonly node: PilotNode;
  readonly subscriptions: Subscriptions;
  readonly remotes: RemoteSessions;
  readonly mounts: Mounts;
  /** Aborted when the client cancels the call. */
  readonly signal: AbortSignal;
}

/**
 * One tool: its published interface (JSON Schema in and out, annotations) and what it does. A
 * handler returns the structured output (checked against `outputSchema` by clients), or a full
 * CallToolResult when `passthrough` (remote results), and throws ToolFailure for errors.
 */
export interface PilotTool<Args = Record<string, unknown>> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema?: JsonSchema;
  readonly annotations: ToolAnnotations;
  readonly passthrough?: boolean;
  run(context: ToolContext, args: Args): Promise<Record<string, unknown> | CallToolResult>;
}

/** Annotations of a tool that only reads (never offered for change; safe under --read-only). */
export const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true } as const;

// JSON Schema builders: the schemas are the interface agents read, so they stay explicit.
export function object(properties: Record<string, JsonSchema>, required: readonly string[] = []): JsonSchema {
  return { type: 'object', properties, required: [...required], additionalProperties: false };
}

export function openObject(
  properties: Record<string, JsonSchema>,
  required: readonly string[] = [],
): JsonSchema {
  return { type: 'object', properties, required: [...required] };
}

export function string(description: string, extra: Record<string, unknown> = {}): JsonSchema {
  return { type: 'string', description, ...extra };
}

export function integer(description: string, minimum?: number, maximum?: number): JsonSchema {
  return {
    type: 'integer',
    description,
    ...(minimum === undefined ? {} : { minimum }),
    ...(maximum === undefined ? {} : { maximum }),
  };
}

export function number(description: string): JsonSchema {
  return { type: 'number', description };
}

export function boolean(description: string): JsonSchema {
  return { type: 'boolean', description };
}

export function array(items: JsonSchema, description?: string): JsonSchema {
  return { type: 'array', items, ...(description === undefined ? {} : { description }) };
}

export const PEER: JsonSchema = string('the peer: an address (0:0000.0000.0002), a node ID or a hostname', {
  minLength: 1,
  maxLength: 253,
});
