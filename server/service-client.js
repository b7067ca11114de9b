// The MQTT connection of a server-side service (the relay gateway, the TURN credential service):
// a service account on the embedded broker or on Mosquitto, over TCP or WebSocket.
import net from 'node:net';
import mqtt from 'mqtt';

/**
 * mqtt.js over TCP leaves Nagle on; every request here waits for an answer, so each small packet
 * would sit until the broker's delayed ACK. Over mqtt:// we build the socket with noDelay.
 * @param {string} url mqtt://, tcp://, ws:// or wss://
 * @param {import('mqtt').IClientOptions} options
 */
export function connectBroker(url, options) {
  const { protocol, hostname, port } = new URL(url);
  if (protocol !== 'mqtt:' && protocol !== 'tcp:') return mqtt.connect(url, options);
  return new mqtt.MqttClient(() => net.createConnection({ host: hostname, port: Number(port || 1883), noDelay: true }), options);
}

/**
 * Connects as the service account `username` and resolves once the broker has let it in.
 * @param {{ brokerURL: string, username: string, password: string, will?: import('mqtt').IClientOptions['will'], log?: (message: string) => void }} options
 * @returns {Promise<import('mqtt').MqttClient>}
 */
export async function connectService({ brokerURL, username, password, will, log = () => {} }) {
  const mq = connectBroker(brokerURL, { protocolVersion: 4, clientId: username, username, password, clean: true, reconnectPeriod: 1000, will });
  mq.on('error', (error) => log(`broker connection: ${error.message}`));
  await new Promise((resolve, reject) => {
    mq.once('connect', resolve);
    mq.once('error', (error) => {
      mq.end(true);
      reject(error);
    });
  });
  return mq;
}
