#!/usr/bin/env node
// `npm test`: lint, unit tests, build (manifest, bundles, the framework examples), type-check, browser tests
// (web-test-runner), then Node-driven tests (broker, docs and multi-context end-to-end). Every stage runs even when an earlier one fails, so one run
// shows everything that is broken; the exit code is non-zero if any stage failed.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const testFiles = (dir, ending = '.test.js') =>
  readdirSync(dir)
    .filter((f) => f.endsWith(ending))
    .map((f) => `${dir}/${f}`);

/** @type {[name: string, command: string, args: string[]][]} */
const stages = [
  ['lint', 'npm', ['run', '--silent', 'lint']],
  ['unit tests', process.execPath, ['--import', 'tsx', '--test', ...testFiles('test/unit', '.test.ts')]],
  ['manifest', 'custom-elements-manifest', ['analyze', '--quiet']],
  ['build', 'rollup', ['-c', '--silent']],
  ['build server', 'tsc', ['-p', 'tsconfig.server.json']],
  ['size budget', process.execPath, ['scripts/size.js']],
  ['examples', process.execPath, ['scripts/examples.js']],
  ['typecheck', 'npm', ['run', '--silent', 'typecheck']],
  ['browser tests', 'web-test-runner', []],
  ['node tests', process.execPath, ['--test', '--test-concurrency=1', ...testFiles('test/server'), ...testFiles('test/docs'), ...testFiles('test/e2e')]],
];

const failed = [];
for (const [name, command, args] of stages) {
  console.log(`\n=== ${name} ===`);
  const { status } = spawnSync(command, args, { stdio: 'inherit' });
  if (status !== 0) {
    failed.push(name);
    // Without a build there is nothing to test.
    if (name === 'build' || name === 'build server' || name === 'manifest') break;
  }
}
if (failed.length) {
  console.error(`\nfailed stages: ${failed.join(', ')}`);
  process.exit(1);
}
