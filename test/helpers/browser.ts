/** Headless Chromium for the page tests: Debian's chromium driven by playwright-core. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sharedTestOptions } from './shared.js';

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Skips without Debian's chromium or ../shared, except under CI=true, where the test runs and fails. */
export function browserTestOptions(): { skip?: string } {
  if (process.env.CI === 'true') return {};
  if (!existsSync(CHROMIUM)) return { skip: `${CHROMIUM} is missing (apt-get install chromium)` };
  return sharedTestOptions('datasets', 'scifact');
}

/** A persistent headless context with its profile under `directory`; close it when done. */
export async function launchChromium(directory: string) {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(join(directory, 'profile'), {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1200, height: 900 },
  });
}
