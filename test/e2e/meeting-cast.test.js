// Issue 20: MeetingCast, the live broadcast of a relayed conversation. Real Janus forwards the
// chosen participant's RTP to real ffmpeg, which writes HLS (played by hls.js in a viewer page)
// and pushes RTMP to a local nginx-rtmp (checked with ffprobe). bob's camera is red and carol's
// blue (Chromium's file capture), so the viewer can tell whom the cast shows.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { ffmpegBinary } from '../../dist/node/server/cast.js';
import { freePort, waitForPort } from '../../dist/node/server/processes.js';
import { canRelay } from '../../dist/node/server/relay.js';
import { startServer } from '../../dist/node/server/serve.js';
import { CHROMIUM_ARGS } from '../chromium.js';
import { launchChromium, openHarness, openUser, poll, uniquePath } from './helpers.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((file) => spawnSync(file, ['-v']).status === 0);
const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
const skip = !canRelay()
  ? 'Janus is not installed'
  : !ffmpegBinary()
    ? 'ffmpeg is not installed'
    : !NGINX || spawnSync('test', ['-f', RTMP_MODULE]).status !== 0
      ? 'nginx with libnginx-mod-rtmp is not installed'
      : false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A camera that shows one colour: a Y4M file for Chromium's fake capture. */
function colourCamera(dir, colour) {
  const file = join(dir, `${colour}.y4m`);
  const made = spawnSync(ffmpegBinary(), [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    `color=c=${colour}:s=320x240:r=30`,
    '-t',
    '2',
    '-pix_fmt',
    'yuv420p',
    '-y',
    file,
  ]);
  assert.equal(made.status, 0, String(made.stderr));
  return file;
}

/** nginx with the RTMP module on a loopback port, in the foreground; `application live`. */
async function startRtmpServer(dir) {
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      `load_module ${RTMP_MODULE};`,
      'daemon off;',
      'master_process off;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'nginx-error.log')} warn;`,
      'events { worker_connections 64; }',
      // access_log off: its default is in /var/log/nginx, which the tests' user may not write.
      `rtmp { access_log off; server { listen 127.0.0.1:${port}; application live { live on; record off; } } }`,
      '',
    ].join('\n'),
  );
  const child = spawn(NGINX, ['-p', dir, '-c', conf], { stdio: 'ignore' });
  await waitForPort(port, 5000, 'nginx-rtmp');
  return {
    url: `rtmp://127.0.0.1:${port}/live`,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/**
 * The codecs ffprobe finds in `url` (an RTMP stream), or the error. Not spawnSync: the broker runs
 * in this process, and a blocked event loop would drop its clients.
 */
async function probe(url) {
  const args = ['-v', 'error', '-rw_timeout', '10000000', '-show_entries', 'stream=codec_type,codec_name', '-of', 'json', url];
  try {
    const { stdout } = await promisify(execFile)('ffprobe', args, { timeout: 20_000 });
    return { streams: JSON.parse(stdout).streams ?? [] };
  } catch (error) {
    const failed = /** @type {{ stderr?: string, message: string }} */ (error);
    return { error: String(failed.stderr || failed.message) };
  }
}

/** The pids of ffmpeg processes whose command line mentions `text`. */
const ffmpegsWith = (text) =>
  spawnSync('pgrep', ['-f', `ffmpeg.*${text}`], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);

/** Which of bob (red) and carol (blue) the viewer's picture shows, or null. */
function whoIsShown(rgb) {
  if (!rgb) return null;
  const [r, g, b] = rgb;
  if (r > 150 && g < 90 && b < 90) return 'bob';
  if (b > 150 && r < 90 && g < 90) return 'carol';
  return null;
}

describe('MeetingCast: HLS and RTMP of a server_based conversation', { skip }, () => {
  let server;
  let rtmp;
  const browsers = [];
  const contexts = [];
  let dir;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wd-cast-test-'));
    const camera = (colour) => [...CHROMIUM_ARGS, `--use-file-for-fake-video-capture=${colourCamera(dir, colour)}`];
    const [red, blue] = [camera('red'), camera('blue')];
    rtmp = await startRtmpServer(dir);
    server = await startServer({ port: 0, relay: 1, cast: { rtmp: rtmp.url } });
    browsers.push(await launchChromium(), await launchChromium(red), await launchChromium(blue));
  });
  after(async () => {
    for (const context of contexts.splice(0)) await context.close().catch(() => {});
    for (const browser of browsers) await browser.close().catch(() => {});
    await server?.close();
    await rtmp?.stop();
  });

  async function user(browser, uid, path) {
    const opened = await openHarness(browser, server, server.brokerURL, uid, { path, options: { statsInterval: 0 } });
    contexts.push(opened.context);
    return opened.page;
  }

  /** alice, bob (red) and carol (blue) in one server_based conversation, all decoding each other. */
  async function threeInACall(path) {
    const [alice, bob, carol] = [await user(browsers[0], 'alice', path), await user(browsers[1], 'bob', path), await user(browsers[2], 'carol', path)];
    for (const page of [bob, carol]) await page.evaluate(() => window.h.client.on('invite', (i) => i.from === 'alice' && window.h.accept('alice')));
    await alice.evaluate(() => window.h.invite('bob', undefined, 'server_based'));
    assert.equal((await alice.evaluate(() => window.h.outcome('bob'))).status, 'accepted');
    await poll(alice, () => window.h.participants().includes('bob'), null, { timeout: 30_000, what: 'alice to have bob' });
    await alice.evaluate(() => window.h.inviteMore(['carol']));
    for (const [uid, page] of Object.entries({ alice, bob, carol })) {
      const others = ['alice', 'bob', 'carol'].filter((u) => u !== uid);
      await poll(page, (want) => JSON.stringify(window.h.participants()) === JSON.stringify(want), others, {
        timeout: 30_000,
        what: `${uid} to see ${others}`,
      });
    }
    return { alice, bob, carol };
  }

  /** Polls the viewer until its picture shows `who` (frames still coming); returns how long that took. */
  async function viewerShows(viewer, who, timeout) {
    const started = Date.now();
    let last;
    let framesBefore = -1;
    while (Date.now() - started < timeout) {
      last = await viewer.evaluate(() => window.viewer.sample());
      if (whoIsShown(last.rgb) === who && framesBefore >= 0 && last.frames > framesBefore) return Date.now() - started;
      framesBefore = last.frames;
      await sleep(250);
    }
    const errors = await viewer.evaluate(() => window.viewer.errors);
    assert.fail(`the viewer did not show ${who} within ${timeout} ms (last: ${JSON.stringify(last)}, errors: ${errors.join(', ')})`);
  }

  test('start(bob) plays in a viewer, switchParticipant(carol) switches it, RTMP carries H.264, stop() leaves nothing behind', async () => {
    const { alice, bob } = await threeInACall(uniquePath('cast'));
    await alice.evaluate(async () => {
      window.cast = await window.h.client.addons.initMeetingCast(window.h.conversation);
      window.castEvents = [];
      window.cast.on('started', (who) => window.castEvents.push(['started', who]));
      window.cast.on('stopped', (why) => window.castEvents.push(['stopped', why]));
    });
    const startedAt = Date.now();
    const urls = await alice.evaluate(() => window.cast.start('bob'));
    assert.match(urls.hlsUrl, /^http:\/\/.+\/wd-cast\/[A-Za-z0-9_-]{24}\/index\.m3u8$/);
    assert.match(urls.rtmpUrl, new RegExp(`^${rtmp.url}/[A-Za-z0-9_-]{24}$`));
    assert.deepEqual(await alice.evaluate(() => [window.cast.isStarted, window.cast.currentParticipant]), [true, 'bob']);
    // bob, a member too, sees the same cast.
    const bobSees = await bob.evaluate(async () => {
      const cast = await window.h.client.addons.initMeetingCast(window.h.conversation);
      return [cast.isStarted, cast.currentParticipant, cast.urls.hlsUrl];
    });
    assert.deepEqual(bobSees, [true, 'bob', urls.hlsUrl]);

    const viewerUser = await openUser(browsers[0], `${server.url}test/e2e/pages/cast-viewer.html`);
    contexts.push(viewerUser.context);
    const viewer = viewerUser.page;
    await viewer.waitForFunction(() => window.viewer && window.Hls);
    await viewer.evaluate((url) => window.viewer.play(url), urls.hlsUrl);
    await viewerShows(viewer, 'bob', 10_000 - (Date.now() - startedAt));
    console.log(`# start(bob) → the viewer decodes bob's video: ${Date.now() - startedAt} ms`);

    const probed = await probe(urls.rtmpUrl);
    assert.ok(
      probed.streams?.some((s) => s.codec_type === 'video' && s.codec_name === 'h264'),
      `ffprobe finds H.264 video on the RTMP server (${JSON.stringify(probed)})`,
    );
    assert.ok(
      probed.streams.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac'),
      'and AAC audio',
    );

    const switchedAt = Date.now();
    await alice.evaluate(() => window.cast.switchParticipant('carol'));
    assert.equal(await alice.evaluate(() => window.cast.currentParticipant), 'carol');
    await viewerShows(viewer, 'carol', 15_000);
    console.log(`# switchParticipant(carol) → the same player shows carol: ${Date.now() - switchedAt} ms`);
    assert.deepEqual(await viewer.evaluate(() => window.viewer.errors), [], 'the player never failed');

    const name = urls.hlsUrl.split('/').at(-2);
    assert.equal(ffmpegsWith(name).length, 1, 'one ffmpeg runs for the cast');
    await alice.evaluate(() => window.cast.stop());
    assert.equal(await alice.evaluate(() => window.cast.isStarted), false);
    assert.deepEqual(ffmpegsWith(name), [], 'no ffmpeg is left');
    assert.deepEqual(readdirSync(server.castDir), [], 'no file is left');
    assert.equal((await fetch(urls.hlsUrl)).status, 404);
    assert.deepEqual(await alice.evaluate(() => window.castEvents), [
      ['started', 'bob'],
      ['started', 'carol'],
      ['stopped', 'stopped'],
    ]);
    for (const context of contexts.splice(0)) await context.close();
  });

  test('refusals: p2p gets 40310, a second start 40311, a non-member nothing; a killed ffmpeg ends the cast with an event', async () => {
    const path = uniquePath('cast-refusals');
    // p2p: no relay to cast from.
    const dave = await user(browsers[0], 'dave', path);
    const erin = await user(browsers[1], 'erin', path);
    await erin.evaluate(() => window.h.client.on('invite', (i) => i.from === 'dave' && window.h.accept('dave')));
    await dave.evaluate(() => window.h.invite('erin'));
    assert.equal((await dave.evaluate(() => window.h.outcome('erin'))).status, 'accepted');
    const p2p = await dave.evaluate(() =>
      window.h.client.addons.initMeetingCast(window.h.conversation).then(
        () => 'resolved',
        (e) => e.code,
      ),
    );
    assert.equal(p2p, 40310);

    const { alice, bob, carol } = await threeInACall(path);
    const cid = await alice.evaluate(() => window.h.conversation.conversationId);
    await alice.evaluate(async () => {
      window.cast = await window.h.client.addons.initMeetingCast(window.h.conversation);
      window.stops = [];
      window.cast.on('stopped', (why) => window.stops.push(why));
      await window.cast.start('bob');
    });
    const again = await bob.evaluate(async () => {
      const cast = await window.h.client.addons.initMeetingCast(window.h.conversation);
      return cast.start('carol').then(
        () => 'resolved',
        (e) => e.code,
      );
    });
    assert.equal(again, 40311, 'a second start is refused with 40311');
    const switchBad = await alice.evaluate(() =>
      window.cast.switchParticipant('nobody').then(
        () => 'resolved',
        (e) => e.code,
      ),
    );
    assert.equal(switchBad, 40312, 'switching to someone who sends nothing is refused with 40312');

    // mallory, not a member, asks the gateway directly to stop it.
    const mallory = await mqtt.connectAsync(server.brokerURL, { protocolVersion: 4, username: 'mallory', reconnectPeriod: 0 });
    const replies = [];
    mallory.on('message', (_topic, payload) => replies.push(JSON.parse(String(payload))));
    await mallory.subscribeAsync(`${path}/inbox/mallory/+`, { qos: 1 });
    for (const action of ['stop', 'status'])
      await mallory.publishAsync('wd-relay/in/mallory', JSON.stringify({ v: 1, path, cid, tx: action, cast: { action, participant: 'carol' } }), { qos: 1 });
    const deadline = Date.now() + 5000;
    while (replies.length < 2 && Date.now() < deadline) await sleep(50);
    assert.deepEqual(
      replies.map((r) => [r.tx, r.error?.code, r.cast]),
      [
        ['stop', 40310, undefined],
        ['status', 40310, undefined],
      ],
    );
    mallory.end(true);
    assert.equal(await alice.evaluate(() => window.cast.isStarted), true, 'the cast still runs');

    // ffmpeg dies: every member hears the cast ended.
    const name = (await alice.evaluate(() => window.cast.urls.hlsUrl)).split('/').at(-2);
    const [pid] = ffmpegsWith(name);
    assert.ok(pid, 'the cast has its ffmpeg');
    process.kill(pid, 'SIGKILL');
    await poll(alice, () => window.stops.length > 0, null, { timeout: 10_000, what: 'alice to hear the cast stopped' });
    assert.match((await alice.evaluate(() => window.stops))[0], /ffmpeg exited/);
    assert.equal(await alice.evaluate(() => window.cast.isStarted), false);
    assert.deepEqual(readdirSync(server.castDir, { recursive: true }), [], 'its files are gone');
    // A new cast can start; it ends when its participant leaves the conversation.
    await alice.evaluate(() => window.cast.start('carol'));
    assert.equal(await alice.evaluate(() => window.cast.currentParticipant), 'carol');
    const carolName = (await alice.evaluate(() => window.cast.urls.hlsUrl)).split('/').at(-2);
    await carol.evaluate(() => window.h.leave());
    await poll(alice, () => window.stops.length > 1, null, { timeout: 10_000, what: 'alice to hear the cast of carol stopped' });
    assert.equal((await alice.evaluate(() => window.stops))[1], 'carol left the conversation');
    assert.deepEqual(ffmpegsWith(carolName), [], 'its ffmpeg is gone');
    assert.deepEqual(readdirSync(server.castDir), [], 'and its files');
  });

  test('a relay gateway killed mid-cast: the next one ends the cast it left (no ffmpeg, no files), the members hear so, and a new cast starts', async () => {
    const { alice } = await threeInACall(uniquePath('cast-gateway'));
    await alice.evaluate(async () => {
      window.cast = await window.h.client.addons.initMeetingCast(window.h.conversation);
      window.stops = [];
      window.cast.on('stopped', (why) => window.stops.push(why));
      await window.cast.start('bob');
    });
    const name = (await alice.evaluate(() => window.cast.urls.hlsUrl)).split('/').at(-2);
    assert.equal(ffmpegsWith(name).length, 1);
    const serving = server.relay.gateway.processes().find((g) => g.role === 'active');
    process.kill(serving.pid, 'SIGKILL');
    await poll(alice, () => window.stops.length > 0, null, { timeout: 15_000, what: 'alice to hear the cast ended' });
    assert.deepEqual(await alice.evaluate(() => window.stops), ['the relay gateway restarted']);
    assert.deepEqual(ffmpegsWith(name), [], 'the dead gateway’s ffmpeg is gone');
    assert.deepEqual(readdirSync(server.castDir), [], 'and its files');
    await alice.evaluate(() => window.cast.start('carol'));
    assert.equal(await alice.evaluate(() => window.cast.currentParticipant), 'carol');
    // alice leaves: for her the cast is over; the others' cast goes on.
    await alice.evaluate(() => window.h.leave());
    await poll(alice, () => !window.cast.isStarted, null, { timeout: 5000, what: 'alice’s cast to be over' });
    assert.deepEqual(await alice.evaluate(() => [window.cast.isStarted, window.stops.at(-1)]), [false, 'the conversation ended']);
  });
});
