import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of `../shared` next to the repository root. */
export const SHARED_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared');

/** Path inside ../shared. */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_ROOT, ...parts);
}

/**
 * Options for a `test()` that reads ../shared: skipped when ../shared is absent, except under
 * CI=true, where the test runs and fails (so CI can never pass by skipping the real-data suites).
 */
export function sharedTestOptions(...parts: string[]): { skip?: string } {
  const path = sharedPath(...parts);
  if (existsSync(path) || process.env.CI === 'true') return {};
  return { skip: `${path} is missing` };
}
