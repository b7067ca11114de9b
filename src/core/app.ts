import { Auth } from './auth.js';
import { Client, type ClientOptions } from './client.js';
import { toBrokerUrls } from './environment.js';
import { invalidArgument } from './errors.js';
import { LocalStream, listDevices, type CreateStreamOptions } from './local-stream.js';

/** The configuration of `initializeApp`: where the broker is, plus call settings. */
export type AppConfig = ClientOptions;

const DEFAULT_APP = '[DEFAULT]';
const apps = new Map<string, App>();

/** The video part of an app: its client and stream creation (Wilddog's `wilddog.video()`). */
export class Video {
  private clientInstance?: Client;

  constructor(private readonly config: AppConfig) {}

  /** This app's client; the same one on every call. */
  client(): Client {
    this.clientInstance ??= new Client(this.config);
    return this.clientInstance;
  }

  /** Captures camera and/or microphone: `createStream({ audio: true, video: 'standard' })`. */
  createStream(options?: CreateStreamOptions): Promise<LocalStream> {
    return LocalStream.create(options);
  }

  /** The cameras and microphones to choose from (`cameraId`, `switchCamera(deviceId)`). */
  listDevices(): Promise<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] }> {
    return listDevices();
  }
}

/** One configured app: `initializeApp({ brokerURL })`. */
export class App {
  private authInstance?: Auth;
  private videoInstance?: Video;

  constructor(
    readonly name: string,
    readonly options: AppConfig,
  ) {}

  auth(): Auth {
    this.authInstance ??= new Auth();
    return this.authInstance;
  }

  video(): Video {
    this.videoInstance ??= new Video(this.options);
    return this.videoInstance;
  }

  /** Closes this app's client and forgets the app, so its name can be initialised again. */
  async delete(): Promise<void> {
    apps.delete(this.name);
    await this.videoInstance?.client().close();
  }
}

/** Configures wd-video: `initializeApp({ brokerURL: 'ws://localhost:8080/mqtt' })`. */
export function initializeApp(config: AppConfig, name = DEFAULT_APP): App {
  if (typeof config !== 'object' || config === null) throw invalidArgument('initializeApp() takes { brokerURL }');
  toBrokerUrls(config.brokerURL); // fail now, not at init, on a URL that can never work
  new Client(config); // and on ICE settings that can never work (40001)
  if (apps.has(name)) throw invalidArgument(`an app named "${name}" is already initialised`);
  const app = new App(name, { ...config });
  apps.set(name, app);
  return app;
}

export function app(name = DEFAULT_APP): App {
  const found = apps.get(name);
  if (!found) throw invalidArgument(`no app named "${name}": call initializeApp({ brokerURL }) first`);
  return found;
}

/** The default app's (or `of`'s) sign-in. */
export const auth = (of: App = app()) => of.auth();
/** The default app's (or `of`'s) video: `video().client()`, `video().createStream()`. */
export const video = (of: App = app()) => of.video();
