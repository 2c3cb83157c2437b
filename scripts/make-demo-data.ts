/**
 * Builds (or confirms) the demo slice of `o1e demo` in .cache/scifact-demo from
 * ../shared/datasets/scifact (src/cli/demo-collection.ts). Run: `npm run demo:data`.
 */
import { demoCollection } from '../src/cli/demo-collection.js';

process.stdout.write(`${JSON.stringify({ directory: await demoCollection() })}\n`);
