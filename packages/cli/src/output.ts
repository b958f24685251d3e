import type { Writable } from 'node:stream';
import type { CliError } from './errors.js';

export type JsonData = Record<string, unknown>;

/** What a command hands back: the JSON data, and optionally the text people see instead. */
export interface CommandResult {
  readonly data: JsonData;
  readonly human?: string;
}

/**
 * The one place pilotctl writes results: `--json` gives `{"status":"ok","data":…}` on stdout and
 * `{"status":"error","code","message","hint"?}` on stderr; otherwise text for people (indented JSON
 * when a command has no text of its own). Progress and streamed lines go to `progress` / `line`.
 */
export class Output {
  readonly json: boolean;
  readonly #stdout: Writable;
  readonly #stderr: Writable;

  constructor(json: boolean, stdout: Writable, stderr: Writable) {
    this.json = json;
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  result(result: CommandResult): void {
    if (this.json) {
      this.#stdout.write(`${JSON.stringify({ status: 'ok', data: result.data })}\n`);
      return;
    }
    const text = result.human ?? JSON.stringify(result.data, null, 2);
    if (text !== '') this.#stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  error(error: CliError): void {
    if (this.json) {
      const body: JsonData = { status: 'error', code: error.cliCode, message: error.message };
      if (error.hint !== undefined) body.hint = error.hint;
      this.#stderr.write(`${JSON.stringify(body)}\n`);
      return;
    }
    if (error.quiet) return;
    this.#stderr.write(`error: ${error.message} [${error.cliCode}]\n`);
    if (error.hint !== undefined) this.#stderr.write(`hint: ${error.hint}\n`);
  }

  /** A line for people as it happens (a ping reply, a received message); silent under --json. */
  line(text: string): void {
    if (!this.json) this.#stdout.write(`${text}\n`);
  }

  /** Raw bytes to stdout (an interactive stream); never used under --json. */
  raw(chunk: Uint8Array): void {
    this.#stdout.write(chunk);
  }

  /** A note for people on stderr (progress, warnings); silent under --json. */
  note(text: string): void {
    if (!this.json) this.#stderr.write(`${text}\n`);
  }

  get stderr(): Writable {
    return this.#stderr;
  }
}
