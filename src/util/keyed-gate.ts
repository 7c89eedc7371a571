/**
 * At most `limit` holders per key at once; the rest of that key wait in order. Keys with no
 * holders and no waiters are forgotten. Other keys never wait on each other.
 */
export class KeyedGate {
  private readonly keys = new Map<string, { active: number; waiters: (() => void)[] }>();

  constructor(private readonly limit: number) {}

  /** Resolves, once the key has room, with the release function (call it exactly once). */
  async acquire(key: string): Promise<() => void> {
    let k = this.keys.get(key);
    if (!k) this.keys.set(key, (k = { active: 0, waiters: [] }));
    const entry = k;
    if (entry.active >= this.limit) await new Promise<void>((resolve) => entry.waiters.push(resolve));
    else entry.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = entry.waiters.shift();
      if (next) next();
      else if (--entry.active === 0) this.keys.delete(key);
    };
  }

  /** Holders and waiters of a key (tests, metrics). */
  load(key: string): { active: number; waiting: number } {
    const k = this.keys.get(key);
    return { active: k?.active ?? 0, waiting: k?.waiters.length ?? 0 };
  }
}
