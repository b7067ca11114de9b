import { brokerURL } from '/__wd-test-env.js';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { CALL_STEPS, ErrorCode, type CallTimelineData } from '../../core/index.js';
import { decodedFrames } from '../../../test/browser/helpers.js';
import '../register.js';
import type { WdVideoClient } from '../wd-video-client/wd-video-client.js';
import type { WdConversation } from './wd-conversation.js';

describe('<wd-conversation>', () => {
  it('two clients on one page: participant-id calls, auto-accept answers, both show 640x480 video', async () => {
    const path = `test/el-conv/${Math.random().toString(36).slice(2)}`;
    const page = await fixture<HTMLElement>(html`
      <div>
        <wd-video-client id="bob" broker-url=${brokerURL} path=${path} uid="bob">
          <wd-local-stream video></wd-local-stream>
          <wd-conversation auto-accept></wd-conversation>
        </wd-video-client>
      </div>
    `);
    const bobClient = page.querySelector<WdVideoClient>('#bob')!;
    if (bobClient.state !== 'ready') await oneEvent(bobClient, 'wd-ready');
    const bobConversation = page.querySelector<WdConversation>('#bob wd-conversation')!;

    const alice = await fixture<WdVideoClient>(html`
      <wd-video-client broker-url=${brokerURL} path=${path} uid="alice">
        <wd-local-stream video></wd-local-stream>
        <wd-conversation participant-id="bob"></wd-conversation>
      </wd-video-client>
    `);
    const aliceConversation = alice.querySelector<WdConversation>('wd-conversation')!;
    const [atAlice, atBob] = await Promise.all([
      oneEvent(aliceConversation, 'wd-participant-connected'),
      oneEvent(bobConversation, 'wd-participant-connected'),
    ]);
    expect(atAlice.detail.participant.participantId).to.equal('bob');
    expect(atBob.detail.participant.participantId).to.equal('alice');
    expect(aliceConversation.getAttribute('state')).to.equal('connected');
    await aliceConversation.updateComplete;
    await bobConversation.updateComplete;
    const videos = [aliceConversation, bobConversation].map((c) => c.shadowRoot!.querySelector<HTMLVideoElement>('video[part="video"]')!);
    await Promise.all(videos.map((v) => decodedFrames(v, 640, 480)));
    expect(bobConversation.shadowRoot!.querySelector('figcaption .name')!.textContent).to.equal('alice');

    // Alice turns her camera off: bob's tile says so, with an accessible name, and an event fires.
    const muted = oneEvent(bobConversation, 'wd-participant-mute');
    alice.querySelector('wd-local-stream')!.toggleVideo(false);
    expect((await muted).detail).to.include({ videoMuted: true, audioMuted: false });
    await bobConversation.updateComplete;
    expect(bobConversation.shadowRoot!.querySelector('[part="muted"]')!.getAttribute('aria-label')).to.equal('camera off');
    // Stats arrive every 2 s and show as quality bars.
    for (let i = 0; i < 20 && !bobConversation.shadowRoot!.querySelector('[part="quality"]'); i++) await new Promise((r) => setTimeout(r, 250));
    expect(bobConversation.shadowRoot!.querySelector('[part="quality"]')!.getAttribute('aria-label')).to.match(/^connection quality [0-5] of 5$/);
    await expect(bobConversation).shadowDom.to.be.accessible();

    const ended = oneEvent(bobConversation, 'wd-conversation-ended');
    const left = oneEvent(bobConversation, 'wd-participant-disconnected');
    await aliceConversation.hangUp();
    expect((await left).detail.participant.participantId).to.equal('alice');
    await ended;
    await bobConversation.updateComplete;
    expect(bobConversation.shadowRoot!.querySelectorAll('video')).to.have.length(0);
    expect(bobConversation.getAttribute('state')).to.equal('ended');
  });

  it('calling someone offline fires wd-invite-failed 40201', async () => {
    const path = `test/el-conv/${Math.random().toString(36).slice(2)}`;
    const alice = await fixture<WdVideoClient>(html`
      <wd-video-client broker-url=${brokerURL} path=${path} uid="alice">
        <wd-local-stream video resolution="low"></wd-local-stream>
        <wd-conversation participant-id="nobody"></wd-conversation>
      </wd-video-client>
    `);
    const { detail } = await oneEvent(alice.querySelector('wd-conversation')!, 'wd-invite-failed');
    expect(detail.error.code).to.equal(ErrorCode.INVITATION_FAILED);
    expect(detail.invite.status).to.equal('failed');
  });

  it('fires wd-call-timeline with every step of each side, warm by default and not with no-warm-up', async () => {
    for (const warmUp of [true, false]) {
      const path = `test/el-timeline/${Math.random().toString(36).slice(2)}`;
      const bob = await fixture<WdVideoClient>(html`
        <wd-video-client broker-url=${brokerURL} path=${path} uid="bob" ?no-warm-up=${!warmUp}>
          <wd-local-stream video resolution="low"></wd-local-stream>
          <wd-conversation auto-accept></wd-conversation>
        </wd-video-client>
      `);
      if (bob.state !== 'ready') await oneEvent(bob, 'wd-ready');
      const seen = { alice: [] as CallTimelineData[], bob: [] as CallTimelineData[] };
      const complete = (uid: 'alice' | 'bob') =>
        seen[uid].at(-1)?.steps.firstFrameDecoded !== undefined && seen[uid].at(-1)?.steps.firstFrameSent !== undefined;
      let onTimeline = (_event: Event) => {};
      const finished = new Promise<void>((resolve) => {
        onTimeline = (event: Event) => {
          const uid = (event.target as Element).closest('wd-video-client')!.getAttribute('uid') as 'alice' | 'bob';
          seen[uid].push((event as CustomEvent<{ timeline: CallTimelineData }>).detail.timeline);
          if (complete('alice') && complete('bob')) resolve();
        };
      });
      document.addEventListener('wd-call-timeline', onTimeline);
      await fixture<WdVideoClient>(html`
        <wd-video-client broker-url=${brokerURL} path=${path} uid="alice">
          <wd-local-stream video resolution="low"></wd-local-stream>
          <wd-conversation participant-id="bob"></wd-conversation>
        </wd-video-client>
      `);
      await finished;
      document.removeEventListener('wd-call-timeline', onTimeline);
      const caller = seen.alice.at(-1)!;
      expect(Object.keys(caller.steps).sort()).to.deep.equal([...CALL_STEPS].sort());
      expect(caller.warm).to.equal(warmUp);
      expect(seen.alice[0]!.steps).to.have.keys(['inviteSent']);
      const callee = seen.bob.at(-1)!;
      expect(Object.keys(callee.steps).sort()).to.deep.equal(CALL_STEPS.filter((s) => s !== 'inviteSent').sort());
      expect(callee.warm).to.equal(warmUp);
      expect(caller.failed ?? callee.failed).to.equal(undefined);
    }
  });

  it('a call that fails fires wd-call-timeline with the step it stopped at', async () => {
    const path = `test/el-timeline/${Math.random().toString(36).slice(2)}`;
    const alice = await fixture<WdVideoClient>(html`
      <wd-video-client broker-url=${brokerURL} path=${path} uid="alice">
        <wd-local-stream video resolution="low"></wd-local-stream>
      </wd-video-client>
    `);
    if (alice.state !== 'ready') await oneEvent(alice, 'wd-ready');
    const element = document.createElement('wd-conversation');
    const failed = new Promise<CallTimelineData>((resolve) =>
      element.addEventListener('wd-call-timeline', ({ detail }) => detail.timeline.failed && resolve(detail.timeline)),
    );
    element.participantId = 'nobody';
    alice.append(element);
    const timeline = await failed;
    expect(timeline.failed).to.include({ step: 'ringing', code: ErrorCode.INVITATION_FAILED });
    expect(timeline.steps.inviteSent).to.be.a('number');
  });

  it('call() without a client around it fails with 40100', async () => {
    const el = await fixture<WdConversation>(html`<wd-conversation></wd-conversation>`);
    const error = await el.call('bob').catch((e) => e);
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
  });
});
