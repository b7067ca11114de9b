// The video start bitrate put on the far side's description (src/core/environment.ts): on every
// video codec that carries media, in its own section, and nowhere else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withVideoStartBitrate } from '../../src/core/start-bitrate.js';

const sdp = (...lines: string[]) => [...lines, ''].join('\r\n');

const CHROMIUM_LIKE = sdp(
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 126',
  'a=mid:0',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:126 telephone-event/8000',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100',
  'a=mid:1',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 VP9/90000',
  'a=fmtp:98 profile-id=0',
  'a=rtpmap:99 red/90000',
  'a=rtpmap:100 ulpfec/90000',
);

describe('withVideoStartBitrate', () => {
  const tuned = withVideoStartBitrate(CHROMIUM_LIKE, 1000).split('\r\n');

  it('adds an fmtp line right after the rtpmap of a video codec that has none', () => {
    const at = tuned.indexOf('a=rtpmap:96 VP8/90000');
    assert.equal(tuned[at + 1], 'a=fmtp:96 x-google-start-bitrate=1000');
  });

  it("adds the parameter to a video codec's own fmtp line", () => {
    assert.ok(tuned.includes('a=fmtp:98 profile-id=0;x-google-start-bitrate=1000'));
  });

  it('leaves retransmission, redundancy and FEC alone', () => {
    assert.ok(tuned.includes('a=fmtp:97 apt=96'));
    for (const pt of ['97', '99', '100']) assert.ok(!tuned.some((line) => line.startsWith(`a=fmtp:${pt} `) && line.includes('start-bitrate')));
  });

  it('leaves audio alone', () => {
    assert.ok(tuned.includes('a=fmtp:111 minptime=10;useinbandfec=1'));
    const audio = tuned.slice(
      0,
      tuned.findIndex((line) => line.startsWith('m=video')),
    );
    assert.ok(!audio.some((line) => line.includes('start-bitrate')));
  });

  it('adds exactly two things and keeps every other line in order', () => {
    const added = tuned.filter((line) => !CHROMIUM_LIKE.split('\r\n').includes(line));
    assert.deepEqual(added, ['a=fmtp:96 x-google-start-bitrate=1000', 'a=fmtp:98 profile-id=0;x-google-start-bitrate=1000']);
    assert.deepEqual(
      tuned.filter((line) => !added.includes(line)),
      CHROMIUM_LIKE.split('\r\n').filter((line) => line !== 'a=fmtp:98 profile-id=0'),
    );
    assert.ok(tuned.at(-1) === '', 'still ends with CRLF');
  });

  it('keeps a start bitrate the far side named', () => {
    const named = CHROMIUM_LIKE.replace('a=fmtp:98 profile-id=0', 'a=fmtp:98 profile-id=0;x-google-start-bitrate=500');
    assert.ok(withVideoStartBitrate(named, 1000).includes('a=fmtp:98 profile-id=0;x-google-start-bitrate=500\r\n'));
  });

  it('returns a description without video unchanged', () => {
    const audioOnly = CHROMIUM_LIKE.slice(0, CHROMIUM_LIKE.indexOf('m=video'));
    assert.equal(withVideoStartBitrate(audioOnly), audioOnly);
  });

  it('is idempotent', () => {
    const once = withVideoStartBitrate(CHROMIUM_LIKE);
    assert.equal(withVideoStartBitrate(once), once);
  });
});
