import type { Writable } from 'node:stream';

const WIDTH = 28;

function mib(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}

/** A one-line progress bar on a terminal (redrawn at most ~10 times a second); a no-op elsewhere. */
export class ProgressBar {
  readonly #out: Writable | undefined;
  readonly #total: number;
  readonly #label: string;
  readonly #started = performance.now();
  #lastDraw = 0;

  constructor(out: Writable | undefined, total: number, label: string) {
    this.#out = out;
    this.#total = total;
    this.#label = label;
  }

  update(done: number): void {
    if (this.#out === undefined) return;
    const now = performance.now();
    if (now - this.#lastDraw < 100 && done < this.#total) return;
    this.#lastDraw = now;
    const fraction = this.#total === 0 ? 1 : Math.min(1, done / this.#total);
    const filled = Math.round(fraction * WIDTH);
    const seconds = (now - this.#started) / 1000;
    const rate = seconds > 0 ? done / 1_000_000 / seconds : 0;
    this.#out.write(
      `\r${this.#label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${mib(done)}/${mib(this.#total)} MiB ${rate.toFixed(1)} MB/s`,
    );
  }

  done(): void {
    if (this.#out === undefined) return;
    this.update(this.#total);
    this.#out.write('\n');
  }
}
