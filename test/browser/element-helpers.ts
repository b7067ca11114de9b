import { brokerURL } from '/__wd-test-env.js';
import { fixture, html, oneEvent } from '@open-wc/testing';
import '../../src/elements/register.js';
import type { Client, LocalStream } from '../../src/core/index.js';
import type { WdLocalStream } from '../../src/elements/wd-local-stream/wd-local-stream.js';
import type { WdVideoClient } from '../../src/elements/wd-video-client/wd-video-client.js';

/**
 * The stream of `el` once captured, at once if it already is. A fixture resolves after the
 * element's first update, and a quick capture (the fake microphone alone) can be ready before a
 * listener added then: `oneEvent(el, 'wd-stream-ready')` alone would wait for an event already fired.
 */
export async function streamReady(el: WdLocalStream): Promise<LocalStream> {
  if (el.state === 'ready' && el.stream) return el.stream;
  return (await oneEvent(el, 'wd-stream-ready')).detail as LocalStream;
}

/** The Client of `el` once signed in, at once if it already is (as streamReady() for a stream). */
export async function clientReady(el: WdVideoClient): Promise<Client> {
  if (el.state === 'ready' && el.client) return el.client;
  return (await oneEvent(el, 'wd-ready')).detail as Client;
}

/** A fresh interaction path for an element test, so tests never see each other's users. */
export const elementPath = (name: string) => `test/${name}/${Math.random().toString(36).slice(2)}`;

/**
 * `<wd-video-client>` for `uid` on `path`, once ready, with a low-resolution camera and a
 * `<wd-conversation auto-accept>`: the one called in most element tests.
 */
export async function answeringClient(path: string, uid = 'bob'): Promise<WdVideoClient> {
  const client = await fixture<WdVideoClient>(html`
    <wd-video-client broker-url=${brokerURL} path=${path} uid=${uid}>
      <wd-local-stream video resolution="low"></wd-local-stream>
      <wd-conversation auto-accept></wd-conversation>
    </wd-video-client>
  `);
  if (client.state !== 'ready') await oneEvent(client, 'wd-ready');
  return client;
}
