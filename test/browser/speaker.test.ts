// The active speaker in a real group call: levels come from the audio the observer's
// <wd-conversation> plays (the fake microphones send a beep in Chromium, a tone in Firefox).
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import type { Conversation } from '../../src/core/conversation.js';
import '../../src/elements/register.js';
import type { WdConversation } from '../../src/elements/wd-conversation/wd-conversation.js';
import type { WdVideoClient } from '../../src/elements/wd-video-client/wd-video-client.js';
import { brokerURL, cameraStream, closeAll, onlineClient, uniquePath } from './helpers.js';

/** The observer's tile of `id`: whether it is marked speaking and dominant, by attribute and by part. */
function tile(element: WdConversation, id: string) {
  const figure = element.shadowRoot!.querySelector(`figure[data-participant="${id}"]`)!;
  const parts = figure.getAttribute('part')!.split(' ');
  return {
    speaking: figure.hasAttribute('speaking') && parts.includes('speaking'),
    dominant: figure.hasAttribute('dominant') && parts.includes('dominant'),
    width: figure.getBoundingClientRect().width,
  };
}

/** `promise`, or a rejection naming `what` after `ms`: a stuck step says which it was. */
function step<T>(what: string, promise: Promise<T>, ms = 20_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function dominantBecomes(element: WdConversation, id: string): Promise<void> {
  for (;;) {
    const { detail } = await oneEvent(element, 'wd-dominant-speaker-changed');
    if (detail.participant.participantId === id) return;
  }
}

describe('the active speaker', () => {
  afterEach(closeAll);

  it('in a group of three the unmuted speaker is dominant and marked on its tile, and the dominance follows a swap of mute states', async function () {
    this.timeout(60_000);
    const path = uniquePath('speaker');
    const observer = await fixture<WdVideoClient>(html`
      <wd-video-client broker-url=${brokerURL} path=${path} uid="observer" style="display:block;width:640px">
        <wd-local-stream video resolution="low"></wd-local-stream>
        <wd-conversation auto-accept layout="speaker"></wd-conversation>
      </wd-video-client>
    `);
    if (observer.state !== 'ready') await oneEvent(observer, 'wd-ready');
    const view = observer.querySelector('wd-conversation')!;

    const [a, b] = [await onlineClient('a', path), await onlineClient('b', path)];
    const [aStream, bStream] = [await cameraStream('low', true), await cameraStream('low', true)];
    bStream.enableAudio(false);
    let bConversation: Promise<Conversation> | undefined;
    b.on('invite', (invite) => (bConversation = invite.accept(bStream)));
    const firstDominant = dominantBecomes(view, 'a');
    const conversation = await a.inviteToConversation({ mode: 'p2p', participantId: 'observer', localStream: aStream });
    await conversation.invite('b');
    await step('b accepts', bConversation!);
    await step('a becomes dominant', firstDominant);
    while (!view.conversation!.participants.has('b')) await step('b connects at the observer', oneEvent(view, 'wd-participant-connected'));
    await view.updateComplete;
    expect(view.conversation!.dominantSpeaker?.participantId).to.equal('a');
    expect(view.conversation!.participants.get('a')!.isSpeaking).to.equal(true);
    expect(tile(view, 'a')).to.include({ speaking: true, dominant: true });
    expect(tile(view, 'b')).to.include({ speaking: false, dominant: false });
    // Speaker layout: the dominant tile spans the row, the other is a strip tile.
    expect(tile(view, 'a').width).to.be.greaterThan(2 * tile(view, 'b').width);

    const secondDominant = dominantBecomes(view, 'b');
    aStream.enableAudio(false);
    bStream.enableAudio(true);
    await step('b becomes dominant after the swap', secondDominant);
    await view.updateComplete;
    expect(view.conversation!.dominantSpeaker?.participantId).to.equal('b');
    expect(tile(view, 'b')).to.include({ speaking: true, dominant: true });
    expect(tile(view, 'a').dominant).to.equal(false);
    expect(view.getAttribute('layout')).to.equal('speaker');
    await view.hangUp();
  });
});
