import { WireErrorCode, wireError } from './errors.js';
import { readU16, writeU16 } from './frame-bytes.js';
import { utf8Decode, utf8Encode } from './frame-utf8.js';

/** Longest file name, in UTF-8 bytes, that a data-exchange file frame may carry. */
export const FILE_NAME_MAX_BYTES = 255;

/** The payload of a data-exchange FILE frame: `[u16 nameLength][name][bytes]`. */
export interface FilePayload {
  readonly name: string;
  readonly data: Uint8Array;
}

/**
 * Why `name` may not name a received file, or undefined when it may. The reference refuses `..`,
 * `/` and `\` so that a name cannot climb out of the receive directory; we also refuse the empty
 * name and NUL, which no file system takes.
 */
export function fileNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('/')) return 'contains "/"';
  if (name.includes('\\')) return 'contains "\\"';
  if (name.includes('\0')) return 'contains NUL';
  return undefined;
}

function checkName(name: string, nameBytes: number, tooLong: WireErrorCode): void {
  if (nameBytes > FILE_NAME_MAX_BYTES) {
    throw wireError(tooLong, `file name of ${nameBytes} bytes is over ${FILE_NAME_MAX_BYTES}`);
  }
  const problem = fileNameProblem(name);
  if (problem !== undefined) throw wireError(WireErrorCode.BAD_VALUE, `file name ${problem}`);
}

/** Builds a FILE frame payload; an unsafe or over-long name is refused as the receiver would. */
export function encodeFilePayload(file: FilePayload): Uint8Array {
  const name = utf8Encode(file.name, 'file name');
  checkName(file.name, name.length, WireErrorCode.OUT_OF_RANGE);
  const out = new Uint8Array(2 + name.length + file.data.length);
  writeU16(out, 0, name.length);
  out.set(name, 2);
  out.set(file.data, 2 + name.length);
  return out;
}

/** Reads a FILE frame payload and checks its name; the data is a view of `bytes`. */
export function decodeFilePayload(bytes: Uint8Array): FilePayload {
  if (bytes.length < 2) throw wireError(WireErrorCode.TRUNCATED, 'file payload needs its 2-byte name length');
  const nameLength = readU16(bytes, 0);
  if (nameLength > FILE_NAME_MAX_BYTES) {
    throw wireError(
      WireErrorCode.TOO_LARGE,
      `file name of ${nameLength} bytes is over ${FILE_NAME_MAX_BYTES}`,
    );
  }
  if (2 + nameLength > bytes.length) {
    throw wireError(
      WireErrorCode.TRUNCATED,
      `file name announces ${nameLength} bytes, ${bytes.length - 2} present`,
    );
  }
  const name = utf8Decode(bytes.subarray(2, 2 + nameLength), 'file name');
  checkName(name, nameLength, WireErrorCode.TOO_LARGE);
  return { name, data: bytes.subarray(2 + nameLength) };
}
