import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * Every text the elements show or announce, by key. `{name}`-style placeholders are filled in by
 * `t(key, { name })`. A table is plain data, so an app can add a language at run time
 * (`registerStrings('fr', { … })`) or replace texts on one element (its `strings` property).
 */
export const en = {
  // <wd-local-stream>
  localControls: 'Your camera and microphone',
  muteMicrophone: 'Mute microphone',
  unmuteMicrophone: 'Unmute microphone',
  cameraOff: 'Turn camera off',
  cameraOn: 'Turn camera on',
  shareScreen: 'Share screen',
  stopSharing: 'Stop sharing',
  camera: 'Camera',
  microphone: 'Microphone',
  numberedDevice: '{name} {number}',
  microphoneLevel: 'Microphone level',
  startingDevices: 'Starting camera and microphone…',
  deviceUnavailable: 'Camera or microphone unavailable',
  devicePermissionDenied: 'Permission was refused.',
  deviceNotFound: 'None found that fits.',
  deviceInUse: 'In use by another program.',
  deviceNeedsSecurePage: 'The page must be secure (https).',
  // <wd-conversation>
  participants: 'Participants',
  microphoneOffBadge: 'mic off',
  microphoneOff: 'microphone off',
  cameraOffBadge: 'cam off',
  cameraOffState: 'camera off',
  connectionQuality: 'connection quality {quality} of 5',
  playSound: 'Play sound',
  speaking: 'speaking',
  callControls: 'Call controls',
  hangUp: 'Hang up',
  pictureInPicture: 'Picture in picture',
  leavePictureInPicture: 'Leave picture in picture',
  // Announcements (aria-live)
  incomingCall: '{name} is calling',
  calling: 'Calling {name}',
  joined: '{name} joined the call',
  left: '{name} left the call',
  reconnecting: 'Connection to {name} lost, reconnecting',
  reconnected: 'Connection to {name} restored',
  callEnded: 'The call ended',
};

export type StringKey = keyof typeof en;
export type Strings = Record<StringKey, string>;

const zh: Strings = {
  localControls: '你的摄像头和麦克风',
  muteMicrophone: '关闭麦克风',
  unmuteMicrophone: '打开麦克风',
  cameraOff: '关闭摄像头',
  cameraOn: '打开摄像头',
  shareScreen: '共享屏幕',
  stopSharing: '停止共享',
  camera: '摄像头',
  microphone: '麦克风',
  numberedDevice: '{name} {number}',
  microphoneLevel: '麦克风音量',
  startingDevices: '正在打开摄像头和麦克风…',
  deviceUnavailable: '摄像头或麦克风不可用',
  devicePermissionDenied: '权限被拒绝。',
  deviceNotFound: '未找到合适的设备。',
  deviceInUse: '正被其他程序占用。',
  deviceNeedsSecurePage: '页面须为安全连接（https）。',
  participants: '参与者',
  microphoneOffBadge: '已静音',
  microphoneOff: '麦克风已关闭',
  cameraOffBadge: '无画面',
  cameraOffState: '摄像头已关闭',
  connectionQuality: '连接质量：{quality}/5',
  playSound: '播放声音',
  speaking: '正在讲话',
  callControls: '通话控制',
  hangUp: '挂断',
  pictureInPicture: '画中画',
  leavePictureInPicture: '退出画中画',
  incomingCall: '{name} 来电',
  calling: '正在呼叫 {name}',
  joined: '{name} 加入了通话',
  left: '{name} 离开了通话',
  reconnecting: '与 {name} 的连接中断，正在重新连接',
  reconnected: '与 {name} 的连接已恢复',
  callEnded: '通话已结束',
};

/** Tables by lower-case language tag; `zh` covers zh-CN, zh-Hans, zh-SG… through its primary subtag. */
const tables = new Map<string, Partial<Strings>>([
  ['en', en],
  ['zh', zh],
]);

/**
 * Adds or extends the texts for a language (a BCP 47 tag: `fr`, `pt-BR`), at run time: elements
 * already on the page switch at once. Keys not given fall back to the primary language, then English.
 */
export function registerStrings(lang: string, strings: Partial<Strings>): void {
  const key = lang.toLowerCase();
  tables.set(key, { ...tables.get(key), ...strings });
  for (const controller of connected) controller.refresh();
}

/** The table chain for a language tag: `zh-hant-tw` → zh-hant-tw, zh-hant, zh, then English. */
function tablesFor(lang: string): Array<Partial<Strings>> {
  const subtags = lang.toLowerCase().split(/[-_]/);
  const chain: Array<Partial<Strings>> = [];
  for (let n = subtags.length; n > 0; n--) {
    const table = tables.get(subtags.slice(0, n).join('-'));
    if (table) chain.push(table);
  }
  chain.push(en);
  return chain;
}

/** The nearest `lang` attribute above `element`, across shadow roots; the document's otherwise. */
export function langOf(element: Element): string {
  let node: Node | null = element;
  while (node) {
    if (node instanceof Element && node.hasAttribute('lang')) return node.getAttribute('lang') || 'en';
    node = node.parentNode ?? (node instanceof ShadowRoot ? node.host : null);
  }
  return document.documentElement.lang || navigator.language || 'en';
}

const connected = new Set<LocalizeController>();
let observer: MutationObserver | undefined;

/** One observer for the whole document: a `lang` changed anywhere, every element looks again. */
function watchLang(): void {
  if (observer || typeof MutationObserver === 'undefined') return;
  observer = new MutationObserver(() => connected.forEach((controller) => controller.refresh(false)));
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['lang'], subtree: true });
}

/**
 * Gives an element `t(key, params)`: its text in the language of the nearest `lang` attribute,
 * with the element's own `strings` first. Re-renders the element when a `lang` changes.
 */
export class LocalizeController implements ReactiveController {
  private lang = '';
  /** Where `t` looks, in order: worked out when the language or a table changes, not on every text. */
  private chain: Array<Partial<Strings>> = [en];

  constructor(private readonly host: ReactiveControllerHost & HTMLElement & { strings?: Partial<Strings> }) {
    host.addController(this);
  }

  hostConnected(): void {
    connected.add(this);
    watchLang();
    // Moved under another `lang` while away: Lit would not render again by itself.
    this.refresh(!this.lang);
  }

  hostDisconnected(): void {
    connected.delete(this);
  }

  /** @internal A table changed (always re-render), or a `lang` somewhere (only if ours changed). */
  refresh(always = true): void {
    const lang = langOf(this.host);
    if (!always && lang === this.lang) return;
    this.lang = lang;
    this.chain = tablesFor(lang);
    this.host.requestUpdate();
  }

  /** An arrow function, so `const { t } = this.localize` works in a render. */
  readonly t = (key: StringKey, params: Record<string, string | number> = {}): string => {
    const own = this.host.strings?.[key];
    const text = own ?? this.chain.find((table) => table[key] !== undefined)![key]!;
    return text.replace(/\{(\w+)\}/g, (match, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : match));
  };
}
