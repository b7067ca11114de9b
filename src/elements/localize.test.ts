import { brokerURL } from '/__wd-test-env.js';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { listDevices } from '../core/index.js';
import { registerStrings } from '../index.js';
import { answeringClient, elementPath, streamReady } from '../../test/browser/element-helpers.js';
import './register.js';
import type { WdConversation } from './wd-conversation/wd-conversation.js';
import type { WdLocalStream } from './wd-local-stream/wd-local-stream.js';
import type { WdVideoClient } from './wd-video-client/wd-video-client.js';

const CJK = /[\u3400-\u9fff]/;
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Every visible text and aria-label in an element's shadow root (and the shadow roots inside it). */
function textsOf(element: Element): string[] {
  const texts: string[] = [];
  const walk = (node: Node) => {
    if (node instanceof HTMLStyleElement) return;
    if (node instanceof Element) {
      const label = node.getAttribute('aria-label');
      if (label) texts.push(label);
      if (node.shadowRoot) walk(node.shadowRoot);
    } else if (node.nodeType === Node.TEXT_NODE && node.textContent!.trim()) {
      texts.push(node.textContent!.trim());
    }
    node.childNodes.forEach(walk);
  };
  walk(element.shadowRoot!);
  return texts;
}

async function until(condition: () => boolean, what: string, ms = 10000): Promise<void> {
  for (const start = Date.now(); !condition(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('languages', () => {
  let documentLang = '';
  beforeEach(() => (documentLang = document.documentElement.lang));
  afterEach(() => (document.documentElement.lang = documentLang));

  it('with <html lang="zh-CN"> every text and aria-label of the three elements is Chinese, in a real 1:1 call', async () => {
    document.documentElement.lang = 'zh-CN';
    const path = elementPath('i18n');
    const bob = await answeringClient(path);
    const alice = await fixture<WdVideoClient>(html`
      <wd-video-client broker-url=${brokerURL} path=${path} uid="alice">
        <wd-local-stream></wd-local-stream>
        <wd-conversation participant-id="bob"></wd-conversation>
      </wd-video-client>
    `);
    const aliceStream = alice.querySelector('wd-local-stream')!;
    const bobConversation = bob.querySelector<WdConversation>('wd-conversation')!;
    const aliceConversation = alice.querySelector<WdConversation>('wd-conversation')!;
    await oneEvent(bobConversation, 'wd-participant-connected');
    // Alice turns both off, so bob's tile shows both badges; stats (every 2 s) add the quality bars.
    aliceStream.toggleAudio(false);
    aliceStream.toggleVideo(false);
    await until(() => bobConversation.shadowRoot!.querySelectorAll('[part="muted"]').length === 2, 'the badges');
    await until(() => !!bobConversation.shadowRoot!.querySelector('[part="quality"]'), 'the quality bars');
    await new Promise((r) => setTimeout(r, 300)); // the device list of the choosers
    const { cameras, microphones } = await listDevices();
    const deviceLabels = new Set([...cameras, ...microphones].map((d) => d.label));

    const elements = [alice, aliceStream, aliceConversation, bob, bob.querySelector('wd-local-stream')!, bobConversation];
    for (const element of elements) await (element as WdVideoClient).updateComplete;
    // The parts that must be there, so that an empty shadow root can not pass.
    expect(aliceStream.shadowRoot!.querySelector('[part~="mute-audio"]')).to.not.equal(null);
    expect(aliceStream.shadowRoot!.querySelector('[part="level"]')).to.not.equal(null);
    const seen: string[] = [];
    for (const element of elements) {
      for (const text of textsOf(element)) {
        // Uids and device names are no texts of ours; nor are icons (no letter in them, as ⧉).
        if (text === 'alice' || text === 'bob' || deviceLabels.has(text) || !/\p{L}/u.test(text)) continue;
        seen.push(text);
        expect(text, `${element.localName}: ${JSON.stringify(text)}`).to.match(CJK);
      }
    }
    expect(seen).to.include.members(['打开麦克风', '麦克风音量', '已静音', '无画面', '摄像头已关闭', 'alice 来电', 'alice 加入了通话', '正在呼叫 bob']);
  });

  it('the strings property replaces a text', async () => {
    const el = await fixture<WdLocalStream>(html`<wd-local-stream audio .strings=${{ muteMicrophone: 'Mic off, please' }}></wd-local-stream>`);
    await streamReady(el);
    await el.updateComplete;
    const root = el.shadowRoot!;
    expect(root.querySelector('[part~="mute-audio"]')!.textContent!.trim()).to.equal('Mic off, please');
    expect(root.querySelector('[part="controls"]')!.getAttribute('aria-label')).to.equal('Your camera and microphone');
    el.strings = { muteMicrophone: 'Stumm' };
    await el.updateComplete;
    expect(root.querySelector('[part~="mute-audio"]')!.textContent!.trim()).to.equal('Stumm');
  });

  it('registerStrings adds a language; the nearest lang attribute picks it, and changing lang re-renders at once', async () => {
    registerStrings('fr', { muteMicrophone: 'Couper le micro', microphoneLevel: 'Niveau du micro' });
    const box = await fixture<HTMLElement>(html`<div lang="fr"><wd-local-stream audio></wd-local-stream></div>`);
    const el = box.querySelector('wd-local-stream')!;
    await streamReady(el);
    await el.updateComplete;
    const button = () => el.shadowRoot!.querySelector('[part~="mute-audio"]')!.textContent!.trim();
    expect(button()).to.equal('Couper le micro');
    expect(el.shadowRoot!.querySelector('[part="level"]')!.getAttribute('aria-label')).to.equal('Niveau du micro');
    // A key French does not have falls back to English.
    expect(el.shadowRoot!.querySelector('[part="controls"]')!.getAttribute('aria-label')).to.equal('Your camera and microphone');

    box.lang = 'zh-Hans';
    await settle();
    await el.updateComplete;
    expect(button()).to.equal('关闭麦克风');

    box.lang = 'fr-CA'; // falls back to fr
    await settle();
    await el.updateComplete;
    expect(button()).to.equal('Couper le micro');

    // A table registered later reaches elements already on the page.
    registerStrings('fr', { muteMicrophone: 'Micro coupé' });
    await el.updateComplete;
    expect(button()).to.equal('Micro coupé');
  });
});
