import { brokerURL } from '/__wd-test-env.js';
import { fixture, html, oneEvent } from '@open-wc/testing';
import '../../src/elements/register.js';
import type { WdVideoClient } from '../../src/elements/wd-video-client/wd-video-client.js';

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
