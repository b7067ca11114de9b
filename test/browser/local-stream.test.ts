import { expect } from '@open-wc/testing';
import { ErrorCode, WdVideoError } from '../../src/core/errors.js';
import { LocalStream, RESOLUTION_PRESETS, type ResolutionPreset } from '../../src/core/local-stream.js';
import { decodedFrames, videoElement } from './helpers.js';

describe('LocalStream', () => {
  for (const [preset, size] of Object.entries(RESOLUTION_PRESETS)) {
    it(`the "${preset}" preset yields a ${size.width}x${size.height} video track`, async () => {
      const stream = await LocalStream.create({ audio: false, video: preset as ResolutionPreset });
      try {
        const settings = stream.mediaStream.getVideoTracks()[0]!.getSettings();
        expect([settings.width, settings.height]).to.deep.equal([size.width, size.height]);
      } finally {
        stream.close();
      }
    });
  }

  it('video: true means the standard preset, 640x480', async () => {
    const stream = await LocalStream.create({ audio: false, video: true });
    const { width, height } = stream.mediaStream.getVideoTracks()[0]!.getSettings();
    stream.close();
    expect([width, height]).to.deep.equal([640, 480]);
  });

  it('refuses an unknown preset with 40001 and captures nothing', async () => {
    const error = await LocalStream.create({ video: 'ultra' as ResolutionPreset }).catch((e) => e);
    expect(error).to.be.instanceOf(WdVideoError);
    expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    expect(error.message).to.contain('ultra');
  });

  it('refuses a stream with neither audio nor video with 40001', async () => {
    const error = await LocalStream.create({ audio: false, video: false }).catch((e) => e);
    expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
  });

  it('attaches to a <video> that decodes its frames, muted', async () => {
    const stream = await LocalStream.create({ audio: true, video: 'low' });
    const video = videoElement();
    try {
      stream.attach(video);
      expect(video.muted).to.equal(true);
      await decodedFrames(video, 320, 240);
      stream.detach(video);
      expect(video.srcObject).to.equal(null);
    } finally {
      stream.close();
      video.remove();
    }
  });

  it('enableVideo / enableAudio turn the tracks off and on', async () => {
    const stream = await LocalStream.create({ audio: true, video: 'low' });
    stream.enableVideo(false);
    expect(stream.isVideoEnabled).to.equal(false);
    expect(stream.mediaStream.getVideoTracks()[0]!.enabled).to.equal(false);
    stream.enableAudio(false);
    expect(stream.isAudioEnabled).to.equal(false);
    stream.enableVideo(true);
    stream.enableAudio(true);
    expect([stream.isVideoEnabled, stream.isAudioEnabled]).to.deep.equal([true, true]);
    stream.close();
  });

  it('close() stops every track and emits closed once', async () => {
    const stream = await LocalStream.create({ audio: true, video: 'low' });
    let closed = 0;
    stream.on('closed', () => closed++);
    stream.close();
    stream.close();
    expect(stream.mediaStream.getTracks().every((t) => t.readyState === 'ended')).to.equal(true);
    expect(stream.closed).to.equal(true);
    expect(closed).to.equal(1);
  });
});
