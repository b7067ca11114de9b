// Issue 2, done-when 2 and 5: the Wilddog seed example, renamed, makes a 640x480 call; after
// disconnect() the other side gets participant_disconnected, every RTCPeerConnection is closed and
// the closed LocalStream's tracks are stopped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPeerConnections, openUser, trackPeerConnections, uniquePath, useServerAndBrowser, waitForDecodedVideo } from './helpers.js';

const env = useServerAndBrowser();

const remoteVideo = () => document.getElementById('remote');
const events = (page) => page.evaluate(() => window.seed.events);

test('the seed example, renamed, calls and shows 640x480 frames, then hangs up cleanly', async () => {
  const path = uniquePath('seed');
  const pageUrl = (call) =>
    `${env.server.url}test/e2e/pages/seed.html?broker=${encodeURIComponent(env.server.brokerURL)}&path=${path}${call ? `&call=${call}` : ''}`;
  const callee = await openUser(env.browser);
  const caller = await openUser(env.browser);
  for (const user of [callee, caller]) await trackPeerConnections(user.page);
  await callee.page.goto(pageUrl());
  const calleeUid = await callee.page.waitForFunction(() => window.seed.events.includes('init') && window.seed.events.includes('stream') && window.seed.uid);
  await caller.page.goto(pageUrl(await calleeUid.jsonValue()));
  await caller.page.waitForFunction(() => window.seed.events.includes('init') && window.seed.events.includes('stream'));
  try {
    await caller.page.evaluate(() => window.invite());
    const [atCallee, atCaller] = await Promise.all([
      waitForDecodedVideo(callee.page, remoteVideo, { width: 640, height: 480 }),
      waitForDecodedVideo(caller.page, remoteVideo, { width: 640, height: 480 }),
    ]);
    assert.deepEqual([atCallee.width, atCallee.height, atCaller.width, atCaller.height], [640, 480, 640, 480]);
    const callerUid = await caller.page.evaluate(() => window.seed.uid);
    assert.ok((await events(callee.page)).includes(`invite:${callerUid}`));
    assert.ok((await events(caller.page)).some((e) => e.startsWith('participant_connected:')));

    await caller.page.evaluate(() => window.leave());
    await callee.page.waitForFunction((uid) => window.seed.events.includes(`participant_disconnected:${uid}`), callerUid);
    assert.equal(await caller.page.evaluate(() => window.localStreamTracksEnded()), true);
    await callee.page.waitForFunction(() => window.__peerConnections.every((pc) => pc.connectionState === 'closed'));
    assert.equal(await openPeerConnections(caller.page), 0);
    assert.equal(await openPeerConnections(callee.page), 0);
    assert.equal(await caller.page.evaluate(() => window.__peerConnections.length), 1);
  } finally {
    await caller.context.close();
    await callee.context.close();
  }
});
