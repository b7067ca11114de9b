#!/usr/bin/env node
// `npx wd-video serve`: the command line is server/cli.ts, compiled to dist/node/server/cli.js
// (npm run build; the published package ships it).
import { main } from '../dist/node/server/cli.js';

await main();
