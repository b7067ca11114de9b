import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { ErrorCode, listDevices } from '../../core/index.js';
import '../register.js';
import { streamReady } from '../../../test/browser/element-helpers.js';
import type { WdLocalStream } from './wd-local-stream.js';

const previewOf = (el: WdLocalStream) => el.shadowRoot!.querySelector('video')!;

describe('<wd-local-stream>', () => {
  it('captures audio and video at 640x480 by default and previews it muted', async () => {
    const el = await fixture<WdLocalStream>(html`<wd-local-stream></wd-local-stream>`);
    const stream = await streamReady(el);
    expect(el.stream).to.equal(stream);
    expect(el.getAttribute('state')).to.equal('ready');
    expect(stream.mediaStream.getAudioTracks()).to.have.length(1);
    const { width, height } = stream.mediaStream.getVideoTracks()[0]!.getSettings();
    expect([width, height]).to.deep.equal([640, 480]);
    const video = previewOf(el);
    expect(video.srcObject).to.equal(stream.mediaStream);
    expect(video.muted).to.equal(true);
    expect(video.getAttribute('part')).to.equal('video');
  });

  it('`video` alone means video without audio, at the asked resolution', async () => {
    const el = await fixture<WdLocalStream>(html`<wd-local-stream video resolution="low-16:9"></wd-local-stream>`);
    const stream = await streamReady(el);
    expect(stream.mediaStream.getAudioTracks()).to.have.length(0);
    const { width, height } = stream.mediaStream.getVideoTracks()[0]!.getSettings();
    expect([width, height]).to.deep.equal([320, 180]);
  });

  it('`audio` alone means audio without video', async () => {
    const el = await fixture<WdLocalStream>(html`<wd-local-stream audio></wd-local-stream>`);
    const stream = await streamReady(el);
    expect(stream.mediaStream.getVideoTracks()).to.have.length(0);
    expect(stream.mediaStream.getAudioTracks()).to.have.length(1);
  });

  it('an unknown resolution fires wd-error 40001 and sets state error', async () => {
    // The error may fire before fixture() resolves: listen on the document first.
    const failed = oneEvent(document, 'wd-error');
    const el = await fixture<WdLocalStream>(html`<wd-local-stream resolution="huge"></wd-local-stream>`);
    const { detail: error } = await failed;
    expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    expect(el.getAttribute('state')).to.equal('error');
    expect(el.stream).to.equal(undefined);
  });

  it('changing the resolution re-captures and stops the old tracks', async () => {
    const el = await fixture<WdLocalStream>(html`<wd-local-stream video resolution="low"></wd-local-stream>`);
    const first = await streamReady(el);
    el.resolution = 'standard-16:9';
    const { detail: second } = await oneEvent(el, 'wd-stream-ready'); // the re-capture: a new event
    expect(first.mediaStream.getTracks().every((t: MediaStreamTrack) => t.readyState === 'ended')).to.equal(true);
    expect(second.mediaStream.getVideoTracks()[0]!.getSettings().width).to.equal(640);
    expect(second.mediaStream.getVideoTracks()[0]!.getSettings().height).to.equal(360);
  });

  it('leaving the page releases the camera', async () => {
    const el = await fixture<WdLocalStream>(html`<wd-local-stream></wd-local-stream>`);
    const stream = await streamReady(el);
    el.remove();
    expect(stream.closed).to.equal(true);
    expect(stream.mediaStream.getTracks().every((t: MediaStreamTrack) => t.readyState === 'ended')).to.equal(true);
  });
});

describe('<wd-local-stream> controls', () => {
  it('every control has an accessible name (axe), and the camera chooser lists the cameras', async () => {
    const el = await fixture<WdLocalStream>(html`<wd-local-stream></wd-local-stream>`);
    await streamReady(el);
    await new Promise((r) => setTimeout(r, 200)); // device list
    await el.updateComplete;
    const root = el.shadowRoot!;
    const controls = [...root.querySelectorAll<HTMLElement>('button, select')];
    const { cameras, microphones } = await listDevices();
    expect(controls.map((c) => c.getAttribute('part'))).to.include.members([
      'control mute-audio',
      'control mute-video',
      'control screen-share',
      // A chooser only where there is a choice: Chromium fakes three cameras, Firefox one of each.
      ...(cameras.length > 1 ? ['control camera-select'] : []),
      ...(microphones.length > 1 ? ['control microphone-select'] : []),
    ]);
    if (cameras.length > 1) expect(root.querySelectorAll('[part~="camera-select"] option')).to.have.length(cameras.length);
    for (const control of controls) {
      const name = control.getAttribute('aria-label') ?? control.textContent!.trim();
      expect(name, control.outerHTML).to.not.equal('');
    }
    await expect(el).shadowDom.to.be.accessible();
  });

  it('the mute buttons stop sending and reflect audio-muted / video-muted', async () => {
    const el = await fixture<WdLocalStream>(html`<wd-local-stream></wd-local-stream>`);
    const stream = await streamReady(el);
    await el.updateComplete;
    const button = (part: string) => el.shadowRoot!.querySelector<HTMLButtonElement>(`[part~="${part}"]`)!;
    button('mute-audio').click();
    await el.updateComplete;
    expect(stream.isAudioEnabled).to.equal(false);
    expect(el.hasAttribute('audio-muted')).to.equal(true);
    expect(button('mute-audio').getAttribute('aria-pressed')).to.equal('true');
    expect(button('mute-audio').textContent!.trim()).to.equal('Unmute microphone');
    button('mute-video').click();
    await el.updateComplete;
    expect(stream.isVideoEnabled).to.equal(false);
    expect(el.hasAttribute('video-muted')).to.equal(true);
    // The page muting through the API shows on the element too.
    stream.enableAudio(true);
    await el.updateComplete;
    expect(el.hasAttribute('audio-muted')).to.equal(false);
  });

  it('no-controls hides them', async () => {
    const el = await fixture<WdLocalStream>(html`<wd-local-stream no-controls></wd-local-stream>`);
    await streamReady(el);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[part~="controls"]')).to.equal(null);
  });
});

describe('<wd-local-stream> before the call', () => {
  it('shows the microphone level as a meter that rises with sound, and closes its AudioContext on release', async () => {
    const close = AudioContext.prototype.close;
    let closed = 0;
    // Counts the closes and still closes: how else to see that the element let its context go.
    AudioContext.prototype.close = function (this: AudioContext) {
      closed++;
      return close.call(this);
    };
    try {
      const el = await fixture<WdLocalStream>(html`<wd-local-stream audio></wd-local-stream>`);
      await streamReady(el);
      await el.updateComplete;
      const meter = el.shadowRoot!.querySelector('[part="level"]')!;
      expect(meter.getAttribute('role')).to.equal('meter');
      expect(meter.getAttribute('aria-label')).to.equal('Microphone level');
      expect(meter.getAttribute('aria-valuemin')).to.equal('0');
      expect(meter.getAttribute('aria-valuemax')).to.equal('100');
      const level = () => Number(meter.getAttribute('aria-valuenow'));
      expect(level()).to.be.within(0, 100);
      if (!navigator.userAgent.includes('Firefox')) {
        // Chromium's fake microphone beeps twice a second. Firefox is left out: it keeps an
        // AudioContext suspended until a user gesture, which a test can not give, so its meter may stay at 0.
        let highest = 0;
        for (const start = Date.now(); highest === 0 && Date.now() - start < 5000; await new Promise((r) => setTimeout(r, 50))) {
          highest = Math.max(highest, level());
        }
        expect(highest).to.be.above(0);
        expect(highest).to.be.at.most(100);
      }
      el.remove();
      expect(closed).to.equal(1);
    } finally {
      AudioContext.prototype.close = close;
    }
  });

  it('says it is starting while capture is under way, and shows why capture failed in place of a black preview', async () => {
    // Stubbed: a denied permission can not be triggered here (the browsers run with the camera and
    // microphone allowed), so getUserMedia answers as a browser does when the user says no.
    let deny = () => {};
    const devices = navigator.mediaDevices;
    const lang = document.documentElement.lang;
    devices.getUserMedia = () => new Promise((_resolve, reject) => (deny = () => reject(new DOMException('Permission denied', 'NotAllowedError'))));
    try {
      const el = await fixture<WdLocalStream>(html`<wd-local-stream></wd-local-stream>`);
      await el.updateComplete;
      expect(el.getAttribute('state')).to.equal('acquiring');
      expect(el.shadowRoot!.querySelector('[part="status"]')!.textContent!.trim()).to.equal('Starting camera and microphone…');
      const failed = oneEvent(el, 'wd-error');
      deny();
      const { detail: error } = await failed;
      await el.updateComplete;
      expect(el.getAttribute('state')).to.equal('error');
      expect(el.error).to.equal(error);
      expect(error.code).to.equal(ErrorCode.DEVICE_UNAVAILABLE);
      const shown = el.shadowRoot!.querySelector('[part="error"]')!;
      expect(shown.textContent).to.include('Camera or microphone unavailable');
      expect(shown.textContent).to.include('Permission was refused.');
      expect(shown.getAttribute('title')).to.equal(error.message);
      expect(error.message).to.include('NotAllowedError');
      document.documentElement.lang = 'zh-CN';
      await new Promise((resolve) => setTimeout(resolve, 0)); // the lang observer's turn
      await el.updateComplete;
      expect(shown.textContent).to.include('权限被拒绝');
      expect(el.shadowRoot!.querySelector('[part="status"]')).to.equal(null);
    } finally {
      delete (devices as Partial<MediaDevices>).getUserMedia;
      document.documentElement.lang = lang;
    }
  });
});
