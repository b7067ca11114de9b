import { createNanoEvents, type Emitter } from 'nanoevents';
import { log } from './logger.js';

/**
 * A nanoevents emitter whose listeners can not hurt the emitter: listeners belong to the page,
 * and one that throws is logged and skipped, so the others still run and no error reaches
 * mqtt.js, a peer connection's handlers or a half-updated state machine.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- nanoevents' own EventsMap
export function createEmitter<Events extends { [event: string]: any }>(): Emitter<Events> {
  const emitter = createNanoEvents<Events>();
  emitter.emit = function emit(this: Emitter<Events>, event, ...args) {
    for (const callback of this.events[event] ?? []) {
      try {
        callback(...args);
      } catch (error) {
        log.error(`a "${String(event)}" listener threw`, error);
      }
    }
  };
  return emitter;
}
