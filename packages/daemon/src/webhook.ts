import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { DaemonErrorCode, daemonError } from './errors.js';
import type { Logger } from './logger.js';

export interface WebhookEvent {
  event_id: string;
  event: string;
  node_id: number;
  timestamp: string;
  data: Record<string, unknown>;
}

const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.com',
  'instance-data',
  'instance-data.ec2.internal',
  '169.254.169.254',
  'fd00:ec2::254',
  '100.100.100.200',
]);

function isLinkLocal(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(bare) === 4) return bare.startsWith('169.254.');
  if (isIP(bare) === 6) return /^fe[89ab][0-9a-f]:/.test(bare) || bare.startsWith('::ffff:169.254.');
  return false;
}

/**
 * Checks a webhook URL: http or https, and not a link-local or cloud-metadata target (reference
 * §9.5), which a webhook could otherwise be used to read. Throws DAEMON_INVALID_ARGUMENT.
 */
export function checkWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, `webhook URL ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'webhook URL must be http or https');
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  if (METADATA_HOSTS.has(host) || isLinkLocal(host))
    throw daemonError(
      DaemonErrorCode.INVALID_ARGUMENT,
      `webhook target ${host} is link-local or a metadata service`,
    );
  return url;
}

export interface WebhookOptions {
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly timeoutMs?: number;
  readonly maxQueue?: number;
}

/**
 * POSTs events as JSON `{event_id, event, node_id, timestamp, data}`, one at a time in order, each
 * retried with doubling back-off; a full queue drops the oldest. No keep-alive: nothing stays open.
 */
export class WebhookSender {
  #url: URL | undefined;
  readonly #log: Logger;
  readonly #options: Required<WebhookOptions>;
  readonly #queue: WebhookEvent[] = [];
  #running = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #inFlight: { destroy(): void } | undefined;
  delivered = 0;
  failed = 0;
  dropped = 0;

  constructor(url: string | undefined, log: Logger, options: WebhookOptions = {}) {
    this.#log = log;
    this.#options = {
      attempts: options.attempts ?? 4,
      baseDelayMs: options.baseDelayMs ?? 500,
      timeoutMs: options.timeoutMs ?? 5000,
      maxQueue: options.maxQueue ?? 1000,
    };
    this.setUrl(url ?? '');
  }

  get url(): string {
    return this.#url?.toString() ?? '';
  }

  /** Sets (or with '' clears) the target; throws DAEMON_INVALID_ARGUMENT for a refused URL. */
  setUrl(url: string): void {
    this.#url = url === '' ? undefined : checkWebhookUrl(url);
    if (this.#url === undefined) this.#queue.length = 0;
  }

  emit(event: string, nodeId: number, data: Record<string, unknown> = {}): void {
    if (this.#url === undefined || this.#closed) return;
    if (this.#queue.length >= this.#options.maxQueue) {
      this.#queue.shift();
      this.dropped++;
    }
    this.#queue.push({
      event_id: randomUUID(),
      event,
      node_id: nodeId,
      timestamp: new Date().toISOString(),
      data,
    });
    if (!this.#running) void this.#run();
  }

  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
    this.#inFlight?.destroy();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#closed && this.#queue.length > 0) {
        const event = this.#queue[0] as WebhookEvent;
        let ok = false;
        for (let attempt = 0; attempt < this.#options.attempts && !this.#closed; attempt++) {
          const url = this.#url;
          if (url === undefined) break;
          try {
            await this.#post(url, event);
            ok = true;
            break;
          } catch (error) {
            this.#log.debug('webhook delivery failed', { event: event.event, attempt, error: String(error) });
            await this.#sleep(this.#options.baseDelayMs * 2 ** attempt);
          }
        }
        if (this.#queue[0] === event) this.#queue.shift();
        if (ok) this.delivered++;
        else if (!this.#closed) {
          this.failed++;
          this.#log.warn('webhook event dropped after retries', { event: event.event });
        }
      }
    } finally {
      this.#running = false;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }

  #post(url: URL, event: WebhookEvent): Promise<void> {
    const body = Buffer.from(JSON.stringify(event));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<void>((resolve, reject) => {
      const request = send(
        url,
        {
          method: 'POST',
          agent: false,
          timeout: this.#options.timeoutMs,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            connection: 'close',
            'user-agent': 'pilot-daemon',
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`HTTP ${status}`));
          });
          response.on('error', reject);
        },
      );
      this.#inFlight = request;
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', reject);
      request.on('close', () => {
        if (this.#inFlight === request) this.#inFlight = undefined;
      });
      request.end(body);
    });
  }
}
