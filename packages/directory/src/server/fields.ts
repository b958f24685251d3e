import { DirErrorCode, dirError } from '../errors.js';

/** A request as decoded from JSON: its fields are read through the typed readers below. */
export type Request = Readonly<Record<string, unknown>>;

function bad(message: string): never {
  throw dirError(DirErrorCode.BAD_REQUEST, message);
}

/** A required unsigned 32-bit integer (node ids and the like). */
export function u32(request: Request, field: string): number {
  const value = request[field];
  if (value === undefined || value === null) bad(`invalid request: ${field} required`);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    bad(`invalid request: ${field} must be an integer in 0..4294967295`);
  }
  return value;
}

export function optionalU32(request: Request, field: string): number | undefined {
  const value = request[field];
  return value === undefined || value === null ? undefined : u32(request, field);
}

/** A network id: 16 bits. */
export function u16(request: Request, field: string): number {
  const value = u32(request, field);
  if (value > 0xffff) bad(`invalid request: ${field} must be an integer in 0..65535`);
  return value;
}

export function str(request: Request, field: string, maxLength: number): string {
  const value = request[field];
  if (value === undefined || value === null) bad(`invalid request: ${field} required`);
  if (typeof value !== 'string') bad(`invalid request: ${field} must be a string`);
  if (value.length > maxLength) bad(`invalid request: ${field} longer than ${maxLength} characters`);
  return value;
}

export function optionalStr(request: Request, field: string, maxLength: number): string | undefined {
  const value = request[field];
  return value === undefined || value === null ? undefined : str(request, field, maxLength);
}

export function bool(request: Request, field: string): boolean {
  const value = request[field];
  if (typeof value !== 'boolean') bad(`invalid request: ${field} must be true or false`);
  return value;
}

export function strArray(request: Request, field: string, maxItems: number, maxLength: number): string[] {
  const value = request[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) bad(`invalid request: ${field} must be an array of strings`);
  if (value.length > maxItems) bad(`invalid request: ${field} holds more than ${maxItems} items`);
  const out: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string' || item.length > maxLength) {
      bad(`invalid request: ${field} must hold strings of at most ${maxLength} characters`);
    }
    out.push(item);
  }
  return out;
}

/** Pagination: `limit` (1..max, default `fallback`) and `offset` (default 0). */
export function page(request: Request, fallback: number, max: number): { limit: number; offset: number } {
  const limit = optionalU32(request, 'limit') ?? fallback;
  const offset = optionalU32(request, 'offset') ?? 0;
  if (limit < 1 || limit > max) bad(`invalid request: limit must be in 1..${max}`);
  return { limit, offset };
}
