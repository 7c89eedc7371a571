/**
 * The change detector (issue 14) in the service: per pair of tiles (one place on two dates), the
 * probability that each cell's terrain changed, from the exported siamese model (trainer/
 * train_change.py). Answers are kept in memory by the two tiles' content hashes (known from the
 * stored analyses, so a warm request reads no picture) and the model's hash: any pair of dates
 * that shows the same two pictures reuses them, and a re-imported tile or a new model never
 * reads an old answer.
 */
import { toBatch } from "../imaging/preprocess.js";
import type { ChangeDetectorSpec } from "../inference/manifest.js";
import type { ModelRegistry } from "../inference/model-registry.js";
import { MemoryLru } from "../util/memory-lru.js";
import type { CachedTile } from "../tiles/tile-cache.js";
import type { TileKey } from "../tiles/tile-math.js";

/** One place on two dates: its id and the content hashes of the two pictures (what the answer is keyed by). */
export interface PairRef {
  id: string;
  key: TileKey;
  beforeHash: string;
  afterHash: string;
}

/** The two pictures of a place. */
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

  /**
   * Per pair id, the change probabilities (cells² values, row-major), and how many pairs were
   * computed now. Answers are looked up by the pictures' hashes first; `load` fetches the
   * pictures of the rest only (a pair it leaves out is left out of the answer).
   */
  async detect(
    refs: PairRef[],
    load: (missing: PairRef[]) => Promise<TilePair[]>,
  ): Promise<{ change: Map<string, Float32Array>; computed: number }> {
    const spec = this.spec;
    if (!spec) throw new Error("the models have no change detector");
    const memKey = (before: string, after: string) => `${spec.sha256}/${before}/${after}`;
    const change = new Map<string, Float32Array>();
    const missing: PairRef[] = [];
    for (const r of refs) {
      const hit = this.memory.get(memKey(r.beforeHash, r.afterHash));
      if (hit) change.set(r.id, hit);
      else missing.push(r);
    }
    const todo = missing.length ? await load(missing) : [];
    for (let i = 0; i < todo.length; i += BATCH) {
      const batch = todo.slice(i, i + BATCH);
      const [before, after] = await Promise.all([
        toBatch(
          batch.map((t) => t.before.bytes),
          spec.input,
        ),
        toBatch(
          batch.map((t) => t.after.bytes),
          spec.input,
        ),
      ]);
      const out = await this.models.change(before, after, batch.length);
      batch.forEach((t, j) => {
        change.set(t.id, out[j]);
        this.memory.set(memKey(t.before.contentHash, t.after.contentHash), out[j], out[j].byteLength + 200);
      });
    }
    return { change, computed: todo.length };
  }
}
