/**
 * Single flight: concurrent requests for one key share one promise, which is forgotten once it
 * settles (a later request starts afresh). Used by the tile cache and the tile analyses.
 */
export class SingleFlight<V> {
  private readonly running = new Map<string, Promise<V>>();

  /** The running promise for `key`, or `start()`'s, shared until it settles; `onJoin` is called when a caller joins one. */
  run(key: string, start: () => Promise<V>, onJoin?: () => void): Promise<V> {
    const p = this.running.get(key);
    if (p) {
      onJoin?.();
      return p;
    }
    return this.track(key, start());
  }

  /** Shares a promise made elsewhere (a batch's share of one key) under `key` until it settles. */
  track(key: string, p: Promise<V>): Promise<V> {
    const shared = p.finally(() => {
      if (this.running.get(key) === shared) this.running.delete(key);
    });
    this.running.set(key, shared);
    return shared;
  }

  has(key: string): boolean {
    return this.running.has(key);
  }
}
