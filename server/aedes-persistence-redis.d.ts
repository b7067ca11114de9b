// aedes-persistence-redis ships no declarations. Of it, the broker makes one persistence (the
// wrapper of its async persistence, with the streams Aedes 1.x still reads) and later ends it.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';

  export interface RedisPersistence {
    destroy(): Promise<void>;
  }
  export default function persistenceRedis(options: { conn: Redis }): RedisPersistence;
}
