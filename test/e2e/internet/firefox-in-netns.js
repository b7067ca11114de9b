#!/usr/bin/env node
// Runs Firefox inside a test's "home" network namespace for Puppeteer, which starts this script
// as Firefox's executable (WD_NETNS, WD_BROWSER in the environment). Puppeteer reads
// "WebDriver BiDi listening on ws://127.0.0.1:<port>" from Firefox and connects to that port, in
// its own namespace: the same port here is forwarded into the home through a Unix socket.
import { fork, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { WD_NETNS, WD_BROWSER } = process.env;
const outside = net.createServer();
await new Promise((resolve) => outside.listen(0, '127.0.0.1', () => resolve()));
const { port } = /** @type {import('node:net').AddressInfo} */ (outside.address());
const socketPath = join(tmpdir(), `wd-firefox-${process.pid}.sock`);
rmSync(socketPath, { force: true });

const inner = fork(new URL('./unix-to-tcp.js', import.meta.url).pathname, [socketPath, String(port)], {
  execPath: 'nsenter',
  execArgv: [`--net=${WD_NETNS}`, process.execPath],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
await new Promise((resolve) => inner.once('message', resolve));
outside.on('connection', (client) => {
  const target = net.connect(socketPath);
  client.pipe(target).pipe(client);
  const close = () => (client.destroy(), target.destroy());
  client.on('error', close);
  target.on('error', close);
});

const args = process.argv.slice(2).map((a) => (a.startsWith('--remote-debugging-port=') ? `--remote-debugging-port=${port}` : a));
const firefox = spawn('nsenter', [`--net=${WD_NETNS}`, WD_BROWSER, ...args], { stdio: 'inherit' });
const stop = (signal) => firefox.kill(signal);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => stop(signal));
firefox.on('exit', (code, signal) => {
  inner.kill();
  outside.close();
  rmSync(socketPath, { force: true });
  process.exit(code ?? (signal ? 1 : 0));
});
