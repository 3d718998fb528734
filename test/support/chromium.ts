// A real browser for tests: Debian's headless Chromium driven by puppeteer-core (which never
// downloads a browser). A page is opened from a file:// URL with every other request blocked and
// recorded, so a test can assert that nothing would have left the machine.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The Chromium binary to use: $CLK_CHROMIUM, else the first of Debian's usual paths; undefined when none. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CLK_CHROMIUM;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

export const CHROMIUM = findChromium();
/** For `describe.skipIf(!CHROMIUM)` and its message. */
export const NO_CHROMIUM_REASON = 'no Chromium binary (apt-get install chromium, or set CLK_CHROMIUM): browser tests skipped';

export interface OpenedPage {
  page: Page;
  /** The file:// URL that was opened. */
  url: string;
  /** Every request other than the page itself: blocked, recorded (should stay empty for a self-contained page). */
  blockedRequests: string[];
  /** Uncaught page errors and console errors. */
  errors: string[];
  /** A PNG of the page (full page unless `clip` is given); written to `file` too when given. */
  screenshot(opts?: { file?: string; clip?: { x: number; y: number; width: number; height: number } }): Promise<Buffer>;
  /** The page printed to PDF as Chromium prints it (A4 landscape unless the page's @page says otherwise). */
  pdf(): Promise<Buffer>;
  /** Runs `fn` in the page. */
  evaluate<T, A extends unknown[]>(fn: (...args: A) => T | Promise<T>, ...args: A): Promise<T>;
  close(): Promise<void>;
}

/**
 * Opens `file` in a fresh headless Chromium (--no-sandbox, so it runs as root in CI). Throws when no
 * binary exists: guard callers with `CHROMIUM`.
 */
export async function openFile(file: string, opts: { width?: number; height?: number; timeoutMs?: number } = {}): Promise<OpenedPage> {
  const executablePath = CHROMIUM;
  if (!executablePath) throw new Error(NO_CHROMIUM_REASON);
  const { default: puppeteer } = await import('puppeteer-core');
  const browser: Browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
    timeout: opts.timeoutMs ?? 30_000,
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: opts.width ?? 1200, height: opts.height ?? 900 });
    const url = pathToFileURL(file).href;
    const blockedRequests: string[] = [];
    const errors: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      if (req.url() === url) void req.continue();
      else {
        blockedRequests.push(req.url());
        void req.abort('blockedbyclient');
      }
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(url, { waitUntil: 'load', timeout: opts.timeoutMs ?? 30_000 });
    return {
      page,
      url,
      blockedRequests,
      errors,
      async screenshot(o = {}) {
        const png = Buffer.from(await page.screenshot({ type: 'png', fullPage: !o.clip, clip: o.clip }));
        if (o.file) await writeFile(o.file, png);
        return png;
      },
      async pdf() {
        return Buffer.from(await page.pdf({ printBackground: true, preferCSSPageSize: true }));
      },
      evaluate: (fn, ...args) => page.evaluate(fn as never, ...(args as unknown as never[])) as never,
      close: () => browser.close(),
    };
  } catch (e) {
    await browser.close();
    throw e;
  }
}
