// The "Frameworks" example apps (examples/react, examples/vue, examples/svelte), as built by
// `node scripts/examples.js` into examples/<name>/dist, each served with the embedded broker on
// /mqtt: bob opens the app with ?uid=bob, alice fills in the app's form (uid alice, call bob),
// and both decode the other's 640x480 video. The list of events that each app renders from its
// framework's own event binding (React 19 `onwd-…` props, Vue `@wd-…`, Svelte 5 `onwd-…`) must
// show wd-participant-connected with the other's uid, and after alice's "Hang up" (a call to the
// element's hangUp() through the framework's ref) wd-conversation-ended on both sides.
// No framework needed a workaround.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../dist/node/server/serve.js';
import { launchChromium, openUser, poll, uniquePath, waitForDecodedVideo } from './helpers.js';

const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));
const examples = readdirSync(examplesDir).filter((name) => existsSync(join(examplesDir, name, 'package.json')));

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const remoteVideo = () => document.querySelector('wd-conversation')?.shadowRoot?.querySelector('video');

/** The texts of the app's rendered event list entries for `type`, once there is one. */
const eventsOf = (page, type) =>
  poll(
    page,
    (t) => {
      const texts = [...document.querySelectorAll(`#events li[data-event="${t}"]`)].map((li) => li.textContent.trim());
      return texts.length ? texts : false;
    },
    type,
    { what: `${type} in the app's list of events` },
  );

test('there are the three framework examples', () => {
  assert.deepEqual([...examples].sort(), ['react', 'svelte', 'vue']);
});

for (const name of examples) {
  test(`${name} example: alice calls bob, both decode 640x480, the app's handlers see the wd-* events`, async () => {
    const root = join(examplesDir, name, 'dist');
    assert.ok(existsSync(join(root, 'index.html')), `examples/${name}/dist is missing: run node scripts/examples.js first`);
    const server = await startServer({ port: 0, root });
    const path = encodeURIComponent(uniquePath(`examples-${name}`));
    let alice;
    let bob;
    try {
      bob = await openUser(browser, `${server.url}?path=${path}&uid=bob`);
      await bob.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
      assert.deepEqual(await eventsOf(bob.page, 'wd-ready'), ['wd-ready online as bob']);

      alice = await openUser(browser, `${server.url}?path=${path}`);
      await alice.page.fill('input[name="uid"]', 'alice');
      await alice.page.fill('input[name="call"]', 'bob');
      await alice.page.click('button:has-text("Join")');

      const [atAlice, atBob] = await Promise.all([
        waitForDecodedVideo(alice.page, remoteVideo, { width: 640, height: 480 }),
        waitForDecodedVideo(bob.page, remoteVideo, { width: 640, height: 480 }),
      ]);
      assert.deepEqual([atAlice.width, atAlice.height, atBob.width, atBob.height], [640, 480, 640, 480]);

      // What the app bound (as an attribute or a property, the framework's choice) reached the element.
      assert.equal(await alice.page.evaluate(() => document.querySelector('wd-conversation').participantId), 'bob');
      assert.equal(await bob.page.evaluate(() => document.querySelector('wd-conversation').autoAccept), true);

      assert.deepEqual(await eventsOf(alice.page, 'wd-participant-connected'), ['wd-participant-connected bob']);
      assert.deepEqual(await eventsOf(bob.page, 'wd-participant-connected'), ['wd-participant-connected alice']);
      assert.deepEqual(await eventsOf(bob.page, 'wd-invite'), ['wd-invite from alice']);
      assert.deepEqual(await eventsOf(alice.page, 'wd-invite-accepted'), ['wd-invite-accepted bob: accepted']);

      await alice.page.click('button:has-text("Hang up")');
      await Promise.all([eventsOf(alice.page, 'wd-conversation-ended'), eventsOf(bob.page, 'wd-conversation-ended')]);
    } finally {
      await alice?.context.close();
      await bob?.context.close();
      await server.close();
    }
  });
}
