#!/usr/bin/env node
// The installed `o1e` command: runs the compiled CLI in dist/ (`npm run build`, which `prepare`
// runs on `npm ci`, `npm install` from git and `npm pack`). In a checkout, `npm run o1e -- ...`
// runs the TypeScript source through tsx instead, with no build.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
