// Runs inside a home namespace: forwards each connection on a Unix socket (which, unlike TCP
// ports, is visible from every network namespace) to 127.0.0.1:<port> of this namespace.
import net from 'node:net';

const [socketPath, port] = process.argv.slice(2);
net
  .createServer((client) => {
    const target = net.connect(Number(port), '127.0.0.1');
    client.pipe(target).pipe(client);
    const close = () => (client.destroy(), target.destroy());
    client.on('error', close);
    target.on('error', close);
  })
  .listen(socketPath, () => process.send?.('listening'));
