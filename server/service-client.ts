// The MQTT connection of a server-side service (the relay gateway, the TURN credential service):
// a service account on the embedded broker or on Mosquitto, over TCP or WebSocket.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';

/**
 * mqtt.js over TCP leaves Nagle on; every request here waits for an answer, so each small packet
 * would sit until the broker's delayed ACK. Over mqtt:// we build the socket with noDelay.
 * @param url mqtt://, tcp://, ws:// or wss://
 */
export function connectBroker(url: string, options: IClientOptions): MqttClient {
  const { protocol, hostname, port } = new URL(url);
  if (protocol !== 'mqtt:' && protocol !== 'tcp:') return mqtt.connect(url, options);
  return new mqtt.MqttClient(() => net.createConnection({ host: hostname, port: Number(port || 1883), noDelay: true }), options);
}

/**
 * A client id for the service account `username`: the name and a random part. A client id names
 * one session, and a second connection with the same id takes it over: a fixed id would let
 * anyone who can connect knock the service off (Mosquitto does not tie client ids to accounts;
 * the embedded broker allows ids starting with `~` only to their own account).
 */
export const serviceClientId = (username: string): string => `${username}-${randomBytes(6).toString('hex')}`;

export interface ServiceConnectionOptions {
  brokerURL: string;
  username: string;
  password: string;
  will?: IClientOptions['will'];
  /** seconds (mqtt.js's default: 60); the broker sees a silent client gone after 1.5 times this */
  keepalive?: number;
  log?: (message: string) => void;
}

/**
 * Connects as the service account `username` and resolves once the broker has let it in. After
 * that, mqtt.js reconnects by itself whatever happens to the connection.
 */
export async function connectService({ brokerURL, username, password, will, keepalive = 60, log = () => {} }: ServiceConnectionOptions): Promise<MqttClient> {
  const mq = connectBroker(brokerURL, {
    protocolVersion: 4,
    clientId: serviceClientId(username),
    username,
    password,
    clean: true,
    reconnectPeriod: 1000,
    keepalive,
    will,
  });
  mq.on('error', (error) => log(`broker connection: ${error.message}`));
  await new Promise<void>((resolve, reject) => {
    // Only the first connection decides: once in, a later error (a broker restart) must not end it.
    const settle = (error?: Error) => {
      mq.off('connect', onConnect);
      mq.off('error', settle);
      if (!error) return resolve();
      mq.end(true);
      reject(error);
    };
    const onConnect = () => settle();
    mq.on('connect', onConnect);
    mq.on('error', settle);
  });
  return mq;
}
