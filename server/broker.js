// The embedded MQTT broker: Aedes (MQTT 3.1.1) over WebSocket on an existing HTTP server, with the
// topic ACL bound to the username each client signs in with.
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { isValidUid, publishDenial, subscribeDenial } from './acl.js';

/** Largest payload a client may publish (an SDP offer is about 5 KB). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/**
 * Creates the broker. Anonymous sign-in: the username is the uid and needs no password.
 * @param {{ log?: (message: string) => void }} [options]
 */
export async function createBroker({ log = () => {} } = {}) {
  const broker = await Aedes.createBroker();
  broker.authenticate = (client, username, _password, callback) => {
    if (!isValidUid(username)) {
      log(`refused connection ${client.id}: username must be a uid (1-64 of A-Z a-z 0-9 _ -)`);
      const error = Object.assign(new Error('bad username'), { returnCode: 4 });
      return callback(error, false);
    }
    client.uid = username;
    callback(null, true);
  };
  broker.authorizePublish = (client, packet, callback) => {
    // Wills are authorised against the same rules when they are published.
    const denial = !client
      ? null
      : packet.payload.length > MAX_PAYLOAD_BYTES
        ? `payload of ${packet.payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`
        : publishDenial(client.uid, packet.topic, packet.retain);
    if (denial) {
      log(`refused publish by ${client.uid} to ${packet.topic}: ${denial}`);
      return callback(new Error(denial));
    }
    callback(null);
  };
  broker.authorizeSubscribe = (client, subscription, callback) => {
    const denial = subscribeDenial(client.uid, subscription.topic);
    if (denial) {
      log(`refused subscription of ${client.uid} to ${subscription.topic}: ${denial}`);
      return callback(null, null);
    }
    callback(null, subscription);
  };
  return broker;
}

/**
 * Serves `broker` over WebSocket on `path` of `httpServer` (upgrade requests only).
 * @returns {{ close: () => void }}
 */
export function attachBroker(httpServer, broker, { path = '/mqtt' } = {}) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES + 1024 });
  const onUpgrade = (request, socket, head) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== path) {
      // Another upgrade handler may want it; when none does, do not leave the socket hanging.
      if (httpServer.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => broker.handle(createWebSocketStream(ws)));
  };
  httpServer.on('upgrade', onUpgrade);
  return {
    close() {
      httpServer.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
