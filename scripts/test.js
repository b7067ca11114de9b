#!/usr/bin/env node
// `npm test`: lint, unit tests, build (manifest, bundles, the framework examples), type-check, browser tests
// (web-test-runner), then Node-driven tests (broker, docs and multi-context end-to-end), with the long and mostly idle ones
// (test/long: minutes of waiting) running alongside them. Every stage runs even when an earlier one fails, so one run
// shows everything that is broken; the exit code is non-zero if any stage failed.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const testFiles = (dir, ending = '.test.js') =>
  readdirSync(dir)
    .filter((f) => f.endsWith(ending))
    .map((f) => `${dir}/${f}`);

/** @type {[name: string, command: string, args: string[], options?: { alongside?: boolean }][]} */
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
  // Started here and left running: its output is printed when it ends, after the stages below.
  ['long tests', process.execPath, ['--test', ...testFiles('test/long')], { alongside: true }],
  ['node tests', process.execPath, ['--test', '--test-concurrency=1', ...testFiles('test/server'), ...testFiles('test/docs'), ...testFiles('test/e2e')]],
];

/**
 * A stage that runs while the next ones do; resolves with its exit status and what it printed. Its
 * output goes to a file, not a pipe: the next stages block this process (spawnSync), and a full
 * pipe would stall the child.
 */
function runAlongside(command, args) {
  const logFile = join(mkdtempSync(join(tmpdir(), 'wd-test-')), 'output.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, output: readFileSync(logFile) })));
}

const failed = [];
const running = [];
for (const [name, command, args, { alongside = false } = {}] of stages) {
  if (alongside) {
    console.log(`\n=== ${name} (started; runs alongside the next stages) ===`);
    running.push({ name, done: runAlongside(command, args) });
    continue;
  }
  console.log(`\n=== ${name} ===`);
  const { status } = spawnSync(command, args, { stdio: 'inherit' });
  if (status !== 0) {
    failed.push(name);
    // Without a build there is nothing to test.
    if (name === 'build' || name === 'build server' || name === 'manifest') break;
  }
}
for (const { name, done } of running) {
  const { status, output } = await done;
  console.log(`\n=== ${name} (ended) ===`);
  process.stdout.write(output);
  if (status !== 0) failed.push(name);
}
if (failed.length) {
  console.error(`\nfailed stages: ${failed.join(', ')}`);
  process.exit(1);
}
