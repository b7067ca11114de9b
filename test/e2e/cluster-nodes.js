// Cluster nodes for the tests: `wd-video serve --redis` processes (each can be killed), and MQTT
// clients of Node signed in on one of them.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * One node: `wd-video serve` with --redis, in its own process (so that it can be killed), serving
 * the project (the harness page) and its broker. Resolves once it prints its URLs. `output()` is
 * what it printed, for a failing test to show.
 * @param {string} redisURL
 * @param {string} passwordFile
 * @param {{ relay?: number }} [options]
 */
export async function startNode(redisURL, passwordFile, { relay = 0 } = {}) {
  const args = ['bin/wd-video.js', 'serve', '--dir', '.', '--port', '0', '--auth', 'password', '--password-file', passwordFile, '--verbose'];
  const child = spawn(process.execPath, [...args, '--redis', redisURL, '--relay', String(relay), '--turn', 'off'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d) => (output += d));
  const lines = createInterface({ input: child.stdout });
  const banner = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start within 20 s: ${output}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`node exited (${code}): ${output}`)));
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (/broker: ws:\/\//.test(line)) resolve(output.match(/on (http:\/\/\S+\/)/)[1] + ' ' + line.match(/broker: (ws:\/\/\S+)/)[1]);
      if (/cluster node/.test(line)) clearTimeout(timer);
    });
  });
  const [url, brokerURL] = banner.split(' ');
  return {
    url,
    brokerURL,
    /** The node's id in the cluster (Aedes's broker id). */
    id: output.match(/cluster node (\S+)/)?.[1],
    output: () => output,
    kill() {
      child.kill('SIGKILL');
      return once(child, 'exit');
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Resolves on `client`'s next `name` event (mqtt.js's client is an EventEmitter without its types). */
export const next = (client, name) => new Promise((resolve) => client.once(name, resolve));

/**
 * A Node MQTT client of `uid`, connected to `brokerURL` with `password`; `options` go to mqtt.js.
 * @param {string} brokerURL
 * @param {string} uid
 * @param {string} password
 * @param {import('mqtt').IClientOptions} [options]
 */
export async function nodeClient(brokerURL, uid, password, options = {}) {
  const client = mqtt.connect(brokerURL, {
    username: uid,
    password,
    reconnectPeriod: 0,
    protocolVersion: 4,
    clientId: `${uid}-${Math.random()}`,
    ...options,
  });
  await new Promise((resolve, reject) => {
    const settle = (why) => {
      clearTimeout(timer);
      client.off('connect', connected).off('error', errored).off('close', closed);
      if (why === undefined) return resolve(undefined);
      client.end(true);
      reject(new Error(`${uid} could not connect to ${brokerURL}: ${why}`));
    };
    const connected = () => settle(undefined);
    const errored = (/** @type {Error} */ error) => settle(error.message);
    const closed = () => settle('the connection closed');
    const timer = setTimeout(() => settle('no CONNACK within 10 s'), 10_000);
    client.once('connect', connected).once('error', errored).once('close', closed);
  });
  return client;
}
