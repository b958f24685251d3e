// Types of impaired-lab.mjs, for the lab tests (test/natlab.int.test.ts).
export declare const LAB_DIR: string;
export declare const RECEIVER_HOST: string;
export declare function labUnavailable(): string | undefined;

export declare class LabProcess {
  stderr: string;
  readonly lines: readonly Record<string, unknown>[];
  readonly exited: Promise<number | null>;
  event(event: string, ms?: number): Promise<Record<string, unknown>>;
  kill(): Promise<void>;
}

export declare class ImpairedLab {
  readonly nl: string;
  static up(): Promise<ImpairedLab>;
  impair(delayMs: number, lossPercent: number, jitterMs?: number): Promise<void>;
  tcpCongestionOf(place: 'p1' | 'p2'): Promise<string>;
  node(place: 'p1' | 'p2', script: string, args: readonly (string | number)[]): LabProcess;
  exec(place: 'p1' | 'p2', file: string, args: readonly (string | number)[]): LabProcess;
  close(): Promise<void>;
}
