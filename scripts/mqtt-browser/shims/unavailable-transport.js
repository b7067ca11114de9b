// Written for wd-video (not part of mqtt.js). The browser bundle carries mqtt.js's WebSocket
// transport only (ws:// and wss://). Its other transports are replaced by this one, which says so:
// TCP and TLS (mqtt://, mqtts://, tcp://, tls://, ssl://, and SOCKS proxies) need Node sockets;
// WeChat (wx://, wxs://) and Alipay (ali://, alis://) need those mini-program runtimes.
export default function unavailableTransport(_client, options) {
  throw new Error(`wd-video's browser build of mqtt.js has no ${options.protocol}:// transport: use a ws:// or wss:// broker URL`);
}
