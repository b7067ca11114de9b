// One simulated signalling client for the load generator: MQTT 3.1.1 over a WebSocket, as a
// wd-video page speaks it (one WebSocket message per packet, QoS 1, a Will), without mqtt.js.
//
// Why not mqtt.js: a load generator carries 10,000 clients in one process, on the same two cores
// as the brokers it measures. mqtt.js in Node goes through several streams per packet; with it
// the generators took about half the machine during an invite burst, and their own lag was most
// of the round trips they reported. Packets are still made and parsed by mqtt-packet, the
// library mqtt.js and Aedes use.
import { EventEmitter } from 'node:events';
import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';

/** Message ids go 1…65535 and round. */
const MAX_MESSAGE_ID = 0xffff;

export class SimClient extends EventEmitter {
  /**
   * @param {string} url ws:// URL of the broker
   * @param {{ clientId: string, username?: string, password?: string, will?: { topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean }, keepalive?: number, connectTimeout?: number }} options
   */
  constructor(url, options) {
    super();
    this.url = url;
    this.options = { keepalive: 60, connectTimeout: 30_000, ...options };
    this.connected = false;
    /** Answers awaited, by message id: PUBACK and SUBACK. */
    this.waiting = new Map();
    this.nextId = 0;
  }

  /** Opens the WebSocket and signs in; resolves at CONNACK, rejects on a refusal, a close or the timeout. */
  connect() {
    const { clientId, username, password, will, keepalive, connectTimeout } = this.options;
    return new Promise((resolve, reject) => {
      const socket = (this.socket = new WebSocket(this.url, 'mqtt'));
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      const timer = setTimeout(() => fail(new Error('connect timeout')), connectTimeout);
      const fail = (error) => {
        clearTimeout(timer);
        socket.terminate();
        reject(error);
      };
      socket.on('open', () =>
        this.send({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId,
          keepalive,
          username,
          password: password === undefined ? undefined : Buffer.from(password),
          will: will && { ...will, payload: Buffer.from(will.payload) },
        }),
      );
      // ws hands binary frames over as a Buffer (its default binaryType, 'nodebuffer').
      socket.on('message', (data) => parser.parse(/** @type {Buffer} */ (data)));
      // After sign-in an error closes the socket, and the close says it.
      socket.on('error', (error) => this.connected || fail(error));
      socket.on('close', () => {
        const was = this.connected;
        this.connected = false;
        clearInterval(this.pinger);
        for (const { reject: refuse } of this.waiting.values()) refuse(new Error('connection closed'));
        this.waiting.clear();
        if (was) this.emit('close');
        else fail(new Error('closed before CONNACK'));
      });
      parser.on('error', () => socket.terminate());
      parser.on('packet', (packet) => {
        switch (packet.cmd) {
          case 'connack':
            clearTimeout(timer);
            if (packet.returnCode !== 0) return fail(new Error(`connection refused: return code ${packet.returnCode}`));
            this.connected = true;
            // The broker counts a client gone after 1.5 keep-alive periods of silence.
            this.pinger = setInterval(() => this.send({ cmd: 'pingreq' }), keepalive * 1000);
            return resolve();
          case 'publish':
            if (packet.qos === 1) this.send({ cmd: 'puback', messageId: packet.messageId });
            return void this.emit('message', packet.topic, packet.payload);
          case 'puback':
          case 'suback': {
            const waiter = this.waiting.get(packet.messageId);
            this.waiting.delete(packet.messageId);
            if (packet.cmd === 'suback' && packet.granted.includes(128)) return waiter?.reject(new Error('subscription refused'));
            return waiter?.resolve();
          }
        }
      });
    });
  }

  /** Writes one packet as one WebSocket message. */
  send(packet) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(mqttPacket.generate(packet, { protocolVersion: 4 }));
  }

  /** A packet that the broker answers: resolves at its PUBACK or SUBACK. */
  request(packet) {
    if (!this.connected) return Promise.reject(new Error('not connected'));
    this.nextId = (this.nextId % MAX_MESSAGE_ID) + 1;
    const messageId = this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(messageId, { resolve, reject });
      this.send({ ...packet, messageId });
    });
  }

  /** @param {string[]} topics */
  subscribe(topics, qos = 1) {
    return this.request({ cmd: 'subscribe', subscriptions: topics.map((topic) => ({ topic, qos })) });
  }

  /** Publishes `payload`; with QoS 1 resolves at the broker's PUBACK. */
  publish(topic, payload, { qos = 1, retain = false } = {}) {
    const packet = { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false };
    if (qos === 0) {
      this.send(packet);
      return Promise.resolve();
    }
    return this.request(packet);
  }

  /** Signs out cleanly (DISCONNECT: no Will) and resolves when the socket closed. */
  end() {
    if (!this.socket || this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', resolve);
      this.send({ cmd: 'disconnect' });
      this.socket.close();
    });
  }

  /** Drops the connection without DISCONNECT (the broker publishes the Will). */
  destroy() {
    this.socket?.terminate();
  }
}
