/**
 * Per-tile model results: terrain probabilities, latent and generated landscape, computed
 * once per (tile, model version) and stored in `tile_analysis`. This service decides what to
 * compute and keeps the results (memory LRU, single flight per tile, batches under a
 * concurrency gate); the pipeline (analysis-pipeline.ts) computes them and the writer
 * (analysis-writer.ts) stores them behind the response. A new model version never
 * serves another version's rows; old rows stay for rollback. Concurrent requests for one
 * tile compute it once; many tiles are computed in batches with bounded concurrency.
 *
 * Terrain maps need only the terrain classifier: analyseMany(keys, { terrainOnly: true })
 * runs it alone and stores rows without latent or landscape ("terrain-only"); a later
 * landscape of such a tile completes the row (the grid and its pieces are kept).
 */
import type { PrismaClient } from "../generated/prisma/client.js";
import type { ModelRegistry } from "../inference/model-registry.js";
import type { Metrics } from "../metrics/metrics.js";
import { wholeTileGrid } from "../terrain/grid.js";
import type { TileCache } from "../tiles/tile-cache.js";
import { type TileKey, tileKeyString } from "../tiles/tile-math.js";
import { MemoryLru } from "../util/memory-lru.js";
import { Semaphore } from "../util/semaphore.js";
import { SingleFlight } from "../util/single-flight.js";
import { AnalysisPipeline } from "./analysis-pipeline.js";
import { type AnalysisRow, AnalysisStore } from "./analysis.store.js";
import type { AnalysisResult, TileAnalysis } from "./analysis.types.js";
import { AnalysisWriter } from "./analysis-writer.js";

export type { AnalysisResult, TileAnalysis } from "./analysis.types.js";

const BATCH = 16;
/** Batches of one call in flight at once. */
const PIPELINE = 2;

export class TileAnalysisService {
  private readonly memory: MemoryLru<TileAnalysis>;
  private readonly inFlight = new SingleFlight<AnalysisResult>();
  private readonly gate: Semaphore;
  private readonly store: AnalysisStore;
  private readonly pipeline: AnalysisPipeline;
  private readonly writer: AnalysisWriter;

  constructor(
    prisma: PrismaClient,
    readonly tiles: TileCache,
    readonly models: ModelRegistry,
    private readonly metrics: Metrics,
    opts: { memoryBytes: number; concurrency: number },
  ) {
    this.memory = new MemoryLru(opts.memoryBytes);
    this.gate = new Semaphore(opts.concurrency);
    this.store = new AnalysisStore(prisma);
    this.pipeline = new AnalysisPipeline(tiles, models, metrics);
    this.writer = new AnalysisWriter(this.store, () => models.manifest.models.terrainClassifier.classes, metrics);
  }

  get source(): string {
    return this.tiles.source.id;
  }

  private memKey(k: TileKey): string {
    return `${this.models.version}/${tileKeyString(k)}`;
  }

  /** Whether this version's analysis of the tile is in the memory cache (a terrain-only one included). */
  inMemory(k: TileKey): boolean {
    return this.memory.get(this.memKey(k)) !== undefined;
  }

  /** Stored results only; undefined when the tile was not analysed with `version`. */
  async stored(k: TileKey, version = this.models.version): Promise<TileAnalysis | undefined> {
    if (version === this.models.version) {
      const hot = this.memory.get(this.memKey(k));
      if (hot) return hot;
    }
    const row = await this.store.findOne(this.source, version, k);
    return row ? fromRow(k, row, this.source, version) : undefined;
  }

  /** One tile's complete analysis (with latent and landscape), from memory, the database, or computed now. */
  async analyse(k: TileKey): Promise<AnalysisResult> {
    const id = this.memKey(k);
    const hot = this.memory.get(id);
    if (hot?.complete) {
      this.metrics.analysisLookups.inc({ result: "memory_hit" });
      return { analysis: hot, cached: true };
    }
    return this.inFlight.run(
      id,
      () => this.load([k], true).then((m) => m.get(tileKeyString(k)) as AnalysisResult),
      () => this.metrics.singleFlightJoins.inc({ scope: "analysis" }),
    );
  }

  /**
   * Many tiles: one database query for the stored ones, the rest fetched and computed in
   * batches. Tiles the source does not have are left out of the result. With `terrainOnly`,
   * terrain-only results will do and missing ones are computed with the terrain classifier alone.
   */
  async analyseMany(keys: TileKey[], opts: { terrainOnly?: boolean } = {}): Promise<Map<string, AnalysisResult>> {
    const out = new Map<string, AnalysisResult>();
    const rest: TileKey[] = [];
    for (const k of keys) {
      const hot = this.memory.get(this.memKey(k));
      if (hot && (hot.complete || opts.terrainOnly)) out.set(tileKeyString(k), { analysis: hot, cached: true });
      else rest.push(k);
    }
    if (rest.length) for (const [id, r] of await this.load(rest, !opts.terrainOnly)) out.set(id, r);
    return out;
  }

  /**
   * The generated landscape PNG for a stored analysis: from memory, else regenerated from its
   * terrain, latent and tile key (the generator and the tile's noise are deterministic). Only
   * the loaded model version can regenerate.
   */
  async image(a: TileAnalysis): Promise<Uint8Array | undefined> {
    if (a.image.byteLength) return a.image;
    if (a.modelVersion !== this.models.version || !a.complete) return undefined;
    const png = await this.pipeline.regenerate(a);
    this.remember({ ...a, image: png });
    return png;
  }

  private async findMany(keys: TileKey[]): Promise<AnalysisRow[]> {
    const xs = keys.map((k) => k.x);
    const ys = keys.map((k) => k.y);
    const rows = await this.store.findInRange(
      this.source,
      this.models.version,
      keys[0].z,
      Math.min(...xs),
      Math.max(...xs),
      Math.min(...ys),
      Math.max(...ys),
    );
    const wanted = new Set(keys.map(tileKeyString));
    return rows.filter((r) => wanted.has(tileKeyString(r)));
  }

  /** Resolves once every computed row has been written (tests, shutdown). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** `complete`: only rows with latent and landscape will do (others are computed again, in full). */
  private async load(keys: TileKey[], complete: boolean): Promise<Map<string, AnalysisResult>> {
    const out = new Map<string, AnalysisResult>();
    const byId = new Map((await this.findMany(keys)).map((r) => [tileKeyString(r), r]));
    const missing: TileKey[] = [];
    for (const k of keys) {
      const row = byId.get(tileKeyString(k));
      if (row && (!complete || row.latent !== null)) {
        const a = fromRow(k, row, this.source, this.models.version);
        this.remember(a);
        this.metrics.analysisLookups.inc({ result: "db_hit" });
        out.set(tileKeyString(k), { analysis: a, cached: true });
      } else missing.push(k);
    }
    const chunks: TileKey[][] = [];
    for (let i = 0; i < missing.length; i += BATCH) chunks.push(missing.slice(i, i + BATCH));
    // Up to PIPELINE batches of one call at a time: while the models run one, the next one's tiles
    // are fetched and decoded. The shared gate bounds all calls together, and a call never holds
    // more than PIPELINE of its slots, so a large area leaves room for other requests' batches.
    const results: TileAnalysis[][] = [];
    let next = 0;
    const stop = (err: unknown): never => {
      next = chunks.length; // the call fails: the other lane starts no further batch
      throw err;
    };
    const lane = async () => {
      while (next < chunks.length) {
        const i = next++;
        results[i] = await this.gate.run(() => this.computeBatch(chunks[i], complete)).catch(stop);
      }
    };
    // The rows of a many-batch call are written once it is done (they are served from memory meanwhile).
    const release = chunks.length > 1 ? this.writer.hold() : undefined;
    try {
      await Promise.all(Array.from({ length: Math.min(PIPELINE, chunks.length) }, lane));
    } finally {
      release?.();
    }
    for (const computed of results) for (const a of computed) out.set(tileKeyString(a.key), { analysis: a, cached: false });
    return out;
  }

  /** One batch computed, remembered and queued for writing. */
  private async computeBatch(keys: TileKey[], complete: boolean): Promise<TileAnalysis[]> {
    const computed = complete ? await this.pipeline.full(keys) : await this.pipeline.terrainOnly(keys);
    computed.forEach((a) => this.remember(a));
    this.writer.persist(computed);
    return computed;
  }

  private remember(a: TileAnalysis): void {
    this.memory.set(this.memKey(a.key), a, a.image.byteLength + 8 * (a.terrain.length + a.latent.length) + 2 * a.grid.labels.length + 256);
  }
}

function fromRow(key: TileKey, r: AnalysisRow, source: string, modelVersion: string): TileAnalysis {
  return {
    key,
    source,
    modelVersion,
    tileHash: r.tile_hash,
    terrain: r.terrain_probabilities.map(Number),
    dominantTerrain: r.dominant_terrain,
    dominantProbability: Number(r.dominant_probability),
    latent: r.latent?.map(Number) ?? [],
    complete: r.latent !== null,
    image: new Uint8Array(),
    imageHash: r.image_hash ?? "",
    computedAt: new Date(r.computed_at),
    grid:
      r.grid_cells && r.grid_labels && r.grid_confidence
        ? { cells: r.grid_cells, labels: new Uint8Array(r.grid_labels), confidence: new Uint8Array(r.grid_confidence) }
        : wholeTileGrid(r.terrain_probabilities.map(Number)),
  };
}
