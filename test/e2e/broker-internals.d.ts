// What the end-to-end tests read of Aedes's internals in their leak checks, which Aedes's own
// declarations leave out.
import 'aedes';

declare module 'aedes' {
  interface Client {
    /** A client's subscriptions by topic (Aedes keeps this object; its declarations omit it). */
    readonly subscriptions?: Readonly<Record<string, unknown>>;
  }
}
