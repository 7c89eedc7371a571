/**
 * The change detector (issue 14) in the service: per pair of tiles (one place on two dates), the
 * probability that each cell's terrain changed, from the exported siamese model (trainer/
 * train_change.py). Answers are kept in memory by the two tiles' content hashes and the model's
 * hash, so any pair of dates that shows the same two pictures reuses them, and a re-imported
 * tile or a new model never reads an old answer.
 */
import { toBatch } from "../imaging/preprocess.js";
import type { ChangeDetectorSpec } from "../inference/manifest.js";
import type { ModelRegistry } from "../inference/model-registry.js";
import { MemoryLru } from "../util/memory-lru.js";
import type { CachedTile } from "../tiles/tile-cache.js";

export interface TilePair {
  id: string;
  before: CachedTile;
  after: CachedTile;
}

/** Pairs one worker run takes. */
const BATCH = 16;

export class ChangeDetector {
  private readonly memory: MemoryLru<Float32Array>;

  constructor(
    private readonly models: ModelRegistry,
    memoryBytes = 32 << 20,
  ) {
    this.memory = new MemoryLru(memoryBytes);
  }

  /** The detector's manifest entry; undefined for models exported without one. */
  get spec(): ChangeDetectorSpec | undefined {
    return this.models.manifest.models.changeDetector;
  }

  /** Per pair id, the change probabilities (cells² values, row-major), and how many pairs were computed now. */
  async detect(pairs: TilePair[]): Promise<{ change: Map<string, Float32Array>; computed: number }> {
    const spec = this.spec;
    if (!spec) throw new Error("the models have no change detector");
    const change = new Map<string, Float32Array>();
    const todo: { pair: TilePair; key: string }[] = [];
    for (const pair of pairs) {
      const key = `${spec.sha256}/${pair.before.contentHash}/${pair.after.contentHash}`;
      const hit = this.memory.get(key);
      if (hit) change.set(pair.id, hit);
      else todo.push({ pair, key });
    }
    for (let i = 0; i < todo.length; i += BATCH) {
      const batch = todo.slice(i, i + BATCH);
      const [before, after] = await Promise.all([
        toBatch(
          batch.map((t) => t.pair.before.bytes),
          spec.input,
        ),
        toBatch(
          batch.map((t) => t.pair.after.bytes),
          spec.input,
        ),
      ]);
      const out = await this.models.change(before, after, batch.length);
      batch.forEach((t, j) => {
        change.set(t.pair.id, out[j]);
        this.memory.set(t.key, out[j], out[j].byteLength + 200);
      });
    }
    return { change, computed: todo.length };
  }
}
