#!/usr/bin/env node
// Builds the example apps in examples/ (React, Vue, Svelte) into examples/<name>/dist with Vite,
// for test/e2e/examples.test.js and for anyone who wants to look at them. Each example has its own
// dependencies and package-lock.json: it runs `npm ci` there when node_modules is missing or older
// than the lock file, so this needs the npm registry: run it outside scripts/isolated.js. The
// examples import the root package ("wd-video": "file:../..", a symlink), so build the library
// first (`npm run build`). Every example is built even when one fails; the exit code says if any did.
//   node scripts/examples.js                  every example
//   node scripts/examples.js react vue        only these
//   node scripts/examples.js --install-only   only the npm ci step (for CI, before the isolated tests)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const examplesDir = join(projectRoot, 'examples');

const EXAMPLES = readdirSync(examplesDir).filter((name) => existsSync(join(examplesDir, name, 'package.json')));

/** True when node_modules was installed from the current package-lock.json. */
function installed(dir) {
  const marker = join(dir, 'node_modules/.package-lock.json');
  return existsSync(marker) && statSync(marker).mtimeMs >= statSync(join(dir, 'package-lock.json')).mtimeMs;
}

function run(dir, args) {
  return spawnSync('npm', args, { cwd: dir, stdio: 'inherit' }).status === 0;
}

const installOnly = process.argv.includes('--install-only');
const names = process.argv.slice(2).filter((arg) => arg !== '--install-only');
const unknown = names.filter((name) => !EXAMPLES.includes(name));
if (unknown.length) {
  console.error(`no such example: ${unknown.join(', ')} (there are ${EXAMPLES.join(', ')})`);
  process.exit(2);
}
if (!installOnly && !existsSync(join(projectRoot, 'dist/index.js'))) {
  console.error('dist/index.js is missing: build the library first (npm run build)');
  process.exit(1);
}

const failed = [];
for (const name of names.length ? names : EXAMPLES) {
  const dir = join(examplesDir, name);
  const started = Date.now();
  console.log(`\n=== examples/${name} ===`);
  const upToDate = installed(dir);
  const isInstalled = upToDate || run(dir, ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
  if (!isInstalled) console.error('npm ci failed (it needs the npm registry: not inside scripts/isolated.js)');
  const ok = isInstalled && (installOnly || run(dir, ['run', 'build', '--silent', '--', '--logLevel', 'warn']));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (ok)
    console.log(
      installOnly ? `examples/${name} ${upToDate ? 'already installed' : `installed in ${seconds} s`}` : `examples/${name}/dist built in ${seconds} s`,
    );
  else failed.push(name);
}
if (failed.length) {
  console.error(`\nfailed examples: ${failed.join(', ')}`);
  process.exit(1);
}
