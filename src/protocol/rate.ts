/**
 * A token bucket: `burst` at once, then `perSecond`. The broker's per-client publish limit and the
 * limits on conversation messages (sender and receiver) are all this one rule.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes `count` tokens when there are that many; otherwise takes none and says false. */
  take(count = 1, now = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }
}
