// The dashboard in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core)
// loads the page of a live rendezvous with two real daemons registered, then one daemon stops and
// the count on the page changes without a reload (server-sent events). A screenshot is kept in
// .reports/ as the test's artifact.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Daemon, startDaemon } from '@pilot/daemon';
import { Driver } from '@pilot/daemon/driver';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, killAll, type Program, startProgram } from './program.js';

const CHROMIUM = process.env.PILOT_CHROMIUM ?? '/usr/bin/chromium';
const REPORTS = fileURLToPath(new URL('../.reports/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rdv-dashboard-'));
const children: Program[] = [];
const daemons: Daemon[] = [];
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await Promise.all(daemons.map((daemon) => daemon.close()));
  killAll(children);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** Waits until the element's text is `text` (polling: the page's CSP forbids evaluated strings). */
async function waitText(page: Page, selector: string, text: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await page.locator(selector).textContent()) !== text) {
    if (Date.now() > deadline) throw new Error(`${selector} never showed "${text}"`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the dashboard in headless Chromium', () => {
  it('shows the nodes of a live rendezvous and follows a daemon stopping', async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`Chromium is not installed at ${CHROMIUM} (apt-get install chromium)`);
    const started = await startProgram(
      [
        '--registry-addr',
        '127.0.0.1:0',
        '--beacon-addr',
        '127.0.0.1:0',
        '--http',
        '127.0.0.1:0',
        '--tls=false',
        '--store',
        join(dir, 'registry.db'),
      ],
      children,
    );
    const daemon = (name: string) =>
      startDaemon({
        home: join(dir, name),
        registry: String(started.announce.registry),
        beacon: String(started.announce.beacon),
        listen: '127.0.0.1:0',
        socket: join(dir, `${name}.sock`),
        hostname: name,
        heartbeat: 2000,
        logLevel: 'error',
      });
    const alpha = await daemon('alpha');
    daemons.push(alpha);
    const beta = await daemon('beta');
    daemons.push(beta);

    // Something to show: alpha public with capability tags.
    const driver = await Driver.connect(alpha.socket);
    await driver.setTags(['weather.metar', 'llm.chat']);
    await driver.setVisibility(true);
    await driver.close();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`http://${String(started.announce.http)}/`);
    await waitText(page, '#online', '2');
    const rows = await page.locator('#nodes tr').allTextContents();
    expect(rows.some((row) => row.includes('alpha'))).toBe(true);
    expect(rows.some((row) => row.includes('beta'))).toBe(true);
    expect(await page.locator('#tags').textContent()).toContain('weather.metar');
    await waitText(page, '#live', 'live');

    // beta stops (it deregisters): the page, without a reload, follows.
    await beta.close();
    daemons.splice(daemons.indexOf(beta), 1);
    await waitText(page, '#online', '1');
    expect(await page.locator('#events').textContent()).toContain('deregistered');
    expect(errors).toEqual([]);
    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: join(REPORTS, 'dashboard.png'), fullPage: true });
    await browser.close();
    browser = undefined;
    started.child.kill('SIGTERM');
    expect(await exited(started.child)).toBe(0);
  }, 120_000);
});
