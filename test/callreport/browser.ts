/**
 * Debian's chromium driven by playwright-core, for the call report's page tests: console errors and
 * page errors collected, a screenshot written where the test run keeps its artefacts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Screenshots and other artefacts of the browser tests ($RTPPROBE_TEST_ARTIFACTS, else a temp folder). */
export const ARTIFACTS = process.env.RTPPROBE_TEST_ARTIFACTS ?? join(tmpdir(), 'rtpprobe-test-artifacts');

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM);
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // The machine has no network beyond loopback: no background connections, no sandbox as root.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
  /** URLs the page tried to fetch other than `allowedOrigin` (a self-contained report fetches nothing). */
  requests: string[];
}

/** `timezoneId` is the browser's local time zone (the machine's when not given). */
export async function openPage(browser: Browser, url: string, allowedPrefix: string, timezoneId?: string): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, timezoneId });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(allowedPrefix)) requests.push(r.url());
  });
  await page.goto(url);
  return { page, errors, requests };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}
