#!/usr/bin/env node
// `npm test`: lint, unit tests, build (manifest, bundles, the framework examples), type-check, browser tests
// (web-test-runner), then Node-driven tests (broker, docs and multi-context end-to-end), with the long and mostly idle ones
// (test/long: minutes of waiting) running alongside them. Every stage runs even when an earlier one fails, so one run
// shows everything that is broken; the exit code is non-zero if any stage failed.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

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

/** Lines that name a failure in the output of eslint, node:test (TAP) and web-test-runner. */
const FAILURE_LINE = /❌|✖|^\s*not ok |^\s+\d+:\d+\s+error\s|did not finish|timed out after/;
/** How many lines of a failed stage's output its summary repeats at the end of the run. */
const SUMMARY_LINES = 120;

/**
 * Runs a stage; resolves with its exit status and what it printed, which is echoed as it comes when
 * `echo` is set (a stage left running alongside others is printed when it ends instead).
 */
function runStage(command, args, { echo }) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => {
      chunks.push(chunk);
      if (echo) process.stdout.write(chunk);
    });
  }
  return new Promise((resolve) => {
    child.on('error', (error) => chunks.push(Buffer.from(`${command}: ${error.message}\n`)));
    child.on('close', (status) => resolve({ status, output: Buffer.concat(chunks).toString() }));
  });
}

/**
 * The lines of a failed stage that say what failed, each with the few after it (the assertion, the
 * place), then its last lines: CI logs are often read from their end only, and a long run's
 * failure would otherwise be thousands of lines up.
 */
function failureSummary(output) {
  const lines = output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n');
  const picked = new Set();
  lines.forEach((line, i) => {
    if (FAILURE_LINE.test(line)) for (let j = i; j < Math.min(i + 9, lines.length); j++) picked.add(j);
  });
  const excerpt = [...picked].slice(0, SUMMARY_LINES).map((i) => lines[i]);
  return [...excerpt, '  …', ...lines.slice(-15)].join('\n');
}

const failed = [];
const running = [];
for (const [name, command, args, { alongside = false } = {}] of stages) {
  if (alongside) {
    console.log(`\n=== ${name} (started; runs alongside the next stages) ===`);
    running.push({ name, done: runStage(command, args, { echo: false }) });
    continue;
  }
  console.log(`\n=== ${name} ===`);
  const { status, output } = await runStage(command, args, { echo: true });
  if (status !== 0) {
    failed.push({ name, output });
    // Without a build there is nothing to test.
    if (name === 'build' || name === 'build server' || name === 'manifest') break;
  }
}
for (const { name, done } of running) {
  const { status, output } = await done;
  console.log(`\n=== ${name} (ended) ===`);
  process.stdout.write(output);
  if (status !== 0) failed.push({ name, output });
}
if (failed.length) {
  for (const { name, output } of failed) console.error(`\n=== what failed in ${name} ===\n${failureSummary(output)}`);
  console.error(`\nfailed stages: ${failed.map(({ name }) => name).join(', ')}`);
  process.exit(1);
}
