#!/usr/bin/env node
// `npm start`: serves the demo page and the bundle, with the embedded broker on /mqtt of the same
// origin. Anonymous sign-in is on: this is a demo server, bound to loopback by default.
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sirv from 'sirv';
import { attachBroker, createBroker } from './broker.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts the HTTP server, static files and broker.
 * @param {{ port?: number, host?: string, root?: string, log?: (message: string) => void }} [options]
 */
export async function startServer({ port = 8080, host = '127.0.0.1', root = projectRoot, log = () => {} } = {}) {
  const broker = await createBroker({ log });
  const statics = sirv(root, { dev: true, dotfiles: false });
  const server = http.createServer((req, res) => statics(req, res, () => {
    res.statusCode = 404;
    res.end('not found');
  }));
  const attachment = attachBroker(server, broker, { path: '/mqtt' });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const origin = `http://${host === '127.0.0.1' ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${address.port}`;
  return {
    url: `${origin}/`,
    brokerURL: `${origin.replace('http', 'ws')}/mqtt`,
    port: address.port,
    broker,
    server,
    async close() {
      attachment.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await new Promise((resolve) => broker.close(resolve));
    },
  };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', short: 'p', default: process.env.PORT ?? '8080' },
      host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: node server/serve.js [--port 8080] [--host 127.0.0.1] [--verbose]
Serves the demo and the embedded MQTT broker (WebSocket on /mqtt). Anonymous sign-in is allowed:
keep it on loopback.`);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a port number, got "${values.port}"`);
    process.exit(2);
  }
  const running = await startServer({ port, host: values.host, log: values.verbose ? (m) => console.log(`[broker] ${m}`) : undefined }).catch((error) => {
    console.error(`could not start: ${error.message}`);
    process.exit(1);
  });
  console.log(`wd-video demo on ${running.url}  (broker ${running.brokerURL}, anonymous sign-in allowed)`);
  console.log('Open it in two tabs, give each a name, and call one from the other. Ctrl-C stops.');
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
