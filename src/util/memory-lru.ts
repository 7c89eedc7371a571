/** A byte-bounded LRU map (Map keeps insertion order; a hit re-inserts the key). */
export class MemoryLru<V> {
  private readonly map = new Map<string, { value: V; size: number }>();
  private used = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onSize: (bytes: number) => void = () => undefined,
  ) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: V, size: number): void {
    if (size > this.maxBytes) return;
    this.delete(key);
    this.map.set(key, { value, size });
    this.used += size;
    for (const [k, e] of this.map) {
      if (this.used <= this.maxBytes) break;
      this.map.delete(k);
      this.used -= e.size;
    }
    this.onSize(this.used);
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.used -= e.size;
    this.onSize(this.used);
  }

  get bytes(): number {
    return this.used;
  }
}
