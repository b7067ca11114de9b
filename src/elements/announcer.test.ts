import { brokerURL } from '/__wd-test-env.js';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { answeringClient, elementPath } from '../../test/browser/element-helpers.js';
import './register.js';
import type { WdConversation } from './wd-conversation/wd-conversation.js';
import type { WdVideoClient } from './wd-video-client/wd-video-client.js';

/** The lines the element's polite live region holds now, oldest first. */
async function announced(element: WdVideoClient | WdConversation): Promise<string[]> {
  await element.updateComplete;
  const region = element.shadowRoot!.querySelector('[role="status"][aria-live="polite"]')!;
  return [...region.children].map((line) => line.textContent!.trim());
}

describe('announcements (aria-live)', () => {
  let documentLang = '';
  beforeEach(() => {
    documentLang = document.documentElement.lang;
    document.documentElement.lang = 'en';
  });
  afterEach(() => (document.documentElement.lang = documentLang));

  it('announce an incoming call, the call going out, a join, a leave and the end of the call', async () => {
    const path = elementPath('announce');
    const bob = await answeringClient(path);
    const bobConversation = bob.querySelector<WdConversation>('wd-conversation')!;
    expect(await announced(bob)).to.deep.equal([]);
    const invited = oneEvent(bob, 'wd-invite');
    const joined = oneEvent(bobConversation, 'wd-participant-connected');
    const alice = await fixture<WdVideoClient>(html`
      <wd-video-client broker-url=${brokerURL} path=${path} uid="alice">
        <wd-local-stream video resolution="low"></wd-local-stream>
        <wd-conversation participant-id="bob"></wd-conversation>
      </wd-video-client>
    `);
    const aliceConversation = alice.querySelector<WdConversation>('wd-conversation')!;
    const aliceJoined = oneEvent(aliceConversation, 'wd-participant-connected');
    await invited;
    expect(await announced(bob)).to.deep.equal(['alice is calling']);
    await Promise.all([joined, aliceJoined]);
    expect(await announced(bobConversation)).to.deep.equal(['alice joined the call']);
    expect(await announced(aliceConversation)).to.deep.equal(['Calling bob', 'bob joined the call']);

    const ended = oneEvent(bobConversation, 'wd-conversation-ended');
    await aliceConversation.hangUp();
    await ended;
    // The last two: a loaded machine may have said "reconnecting" first, had the bye been slow.
    expect((await announced(bobConversation)).slice(-2)).to.deep.equal(['alice left the call', 'The call ended']);
    expect(await announced(aliceConversation)).to.include('The call ended');
  });
});
