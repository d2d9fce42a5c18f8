#!/usr/bin/env node
// The `chimney` command: runs the compiled CLI (npm ci / npm run build compile it into dist/).
import { main } from '../dist/src/cli/main.js';

await main(process.argv);
// Anything still holding the event loop after the command finished (a peer that never closed,
// a lingering timer) must not keep the process alive.
setTimeout(() => process.exit(), 2000).unref();
