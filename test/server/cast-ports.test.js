// The UDP ports a cast's ffmpeg reads (server/cast.ts): ffmpeg binds each for RTP and the one above
// it for RTCP, so a port whose next one is taken would make it exit at once ("Invalid data found
// when processing input", seen in CI when another socket sat there). Real sockets on loopback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bindUdp, freeRtpPorts } from '../../dist/node/server/cast.js';

test('a candidate whose next port is taken is passed over; the ports returned and the ones above them are free', async () => {
  // Two ports whose next ones are free (freeRtpPorts' own choice, freed again), to offer in turn.
  const [blocked, open] = await freeRtpPorts(2);
  const squatter = await bindUdp(blocked + 1); // what a browser's ICE socket did in CI
  assert.ok(squatter, 'the port above the first candidate is ours to block');
  const candidates = [blocked, open];
  try {
    const ports = await freeRtpPorts(1, { pick: () => bindUdp(candidates.shift() ?? 0) });
    assert.deepEqual(ports, [open]);
    // Closed again for ffmpeg: it can bind the port and the one above it.
    for (const port of [open, open + 1]) {
      const socket = await bindUdp(port);
      assert.ok(socket, `port ${port} is free again`);
      socket.close();
    }
  } finally {
    squatter.close();
  }
});

test('pairs never overlap: a candidate that is the RTCP port of a pair already found is passed over', async () => {
  const [first, other] = await freeRtpPorts(2);
  const candidates = [first, first + 1, other];
  const ports = await freeRtpPorts(2, { pick: () => bindUdp(candidates.shift() ?? 0) });
  assert.deepEqual(ports, [first, other]);
});

test('gives up with a clear error when no candidate can be used', async () => {
  const socket = await bindUdp(0);
  assert.ok(socket);
  const port = socket.address().port;
  const above = await bindUdp(port + 1);
  socket.close();
  try {
    // Every candidate is the one port whose next is taken.
    await assert.rejects(freeRtpPorts(1, { pick: () => bindUdp(port), attempts: 3 }), /found no 1 pairs of free UDP ports on 127\.0\.0\.1 for ffmpeg/);
  } finally {
    above?.close();
  }
});
