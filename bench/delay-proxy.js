// A distance for the benchmarks: proxies on loopback that hold every packet (UDP) or chunk (TCP)
// for `delayMs` each way, as a network path would. The kernel's netem would do this, but these
// machines' kernels have no sch_netem, so it is done here: a few lines of node:dgram and node:net.
// Timers of one duration fire in the order they were set, so nothing is reordered.
import dgram from 'node:dgram';
import net from 'node:net';

/**
 * Forwards UDP datagrams from any client to `target` and the answers back, `delayMs` each way. Each
 * client gets its own upstream socket, so the target (coturn) sees one address per client.
 * @param {{ host: string, port: number }} target
 * @param {number} delayMs
 * @returns {Promise<{ port: number, close(): void }>}
 */
export async function delayUdp(target, delayMs) {
  const front = dgram.createSocket('udp4');
  /** @type {Map<string, import('node:dgram').Socket>} */
  const upstreams = new Map();
  let closed = false;
  /** Sends `message` after the delay, unless the proxy has closed meanwhile. */
  const later = (/** @type {import('node:dgram').Socket} */ socket, /** @type {Buffer} */ message, /** @type {number} */ port, /** @type {string} */ host) =>
    setTimeout(() => !closed && socket.send(message, port, host), delayMs);
  front.on('message', (message, from) => {
    const key = `${from.address}:${from.port}`;
    let upstream = upstreams.get(key);
    if (!upstream) {
      const socket = dgram.createSocket('udp4');
      socket.on('message', (answer) => later(front, answer, from.port, from.address));
      socket.on('error', () => {});
      socket.bind(0, '127.0.0.1');
      upstreams.set(key, (upstream = socket));
    }
    later(upstream, message, target.port, target.host);
  });
  front.on('error', () => {});
  await new Promise((resolve) => front.bind(0, '127.0.0.1', () => resolve(undefined)));
  return {
    port: front.address().port,
    close() {
      closed = true;
      for (const socket of upstreams.values()) socket.close();
      front.close();
    },
  };
}

/**
 * Forwards TCP connections to `target`, every chunk `delayMs` late each way (WebSocket signalling).
 * @param {{ host: string, port: number }} target
 * @param {number} delayMs
 * @returns {Promise<{ port: number, close(): Promise<void> }>}
 */
export async function delayTcp(target, delayMs) {
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pipe = (/** @type {import('node:net').Socket} */ from, /** @type {import('node:net').Socket} */ to) => {
      sockets.add(from);
      from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), delayMs));
      from.on('end', () => setTimeout(() => to.end(), delayMs));
      from.on('close', () => sockets.delete(from));
      from.on('error', () => to.destroy());
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  return {
    port: /** @type {import('node:net').AddressInfo} */ (server.address()).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
