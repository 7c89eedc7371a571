/**
 * Per-tile model results: terrain probabilities, latent and generated landscape, computed
 * once per (tile, model version) and stored in `tile_analysis`. A new model version never
 * serves another version's rows; old rows stay for rollback. Concurrent requests for one
 * tile compute it once; many tiles are computed in batches with bounded concurrency.
 *
 * Terrain maps need only the terrain classifier: analyseMany(keys, { terrainOnly: true })
 * runs it alone and stores rows without latent or landscape ("terrain-only"); a later
 * landscape of such a tile completes the row (the grid and its pieces are kept).
 */
import { createHash } from "node:crypto";
import type { PrismaClient } from "../generated/prisma/client.js";
import { generatedToPng } from "../imaging/encode.js";
import { type AnalysisRow, AnalysisStore } from "./analysis.store.js";
import { toBatches } from "../imaging/preprocess.js";
import type { ModelRegistry } from "../inference/model-registry.js";
import type { Metrics } from "../metrics/metrics.js";
import { cleanGrid, type TerrainGrid, wholeTileGrid } from "../terrain/grid.js";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import { MemoryLru } from "../util/memory-lru.js";
import type { CachedTile, TileCache } from "../tiles/tile-cache.js";
import { type TileKey, tileKeyString } from "../tiles/tile-math.js";
import { Semaphore } from "../util/semaphore.js";

export interface TileAnalysis {
  key: TileKey;
  source: string;
  modelVersion: string;
  tileHash: string;
  /** In the terrain classifier's class order. */
  terrain: number[];
  dominantTerrain: string;
  dominantProbability: number;
  latent: number[];
  image: Uint8Array;
  imageHash: string;
  computedAt: Date;
  /** The cleaned terrain grid (one cell for models without a grid output). */
  grid: TerrainGrid;
  /** False for a terrain-only analysis: no latent, no landscape (latent is empty). */
  complete: boolean;
}

export interface AnalysisResult {
  analysis: TileAnalysis;
  /** True when it was already stored (nothing was computed for this request). */
  cached: boolean;
}

const BATCH = 16;
/** How long computed rows wait to be written together. */
const WRITE_COALESCE_MS = 5;

export class TileAnalysisService {
  private readonly memory: MemoryLru<TileAnalysis>;
  private readonly inFlight = new Map<string, Promise<AnalysisResult>>();
  private readonly gate: Semaphore;
  private readonly store: AnalysisStore;
  private queued: TileAnalysis[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** Rows computed but not yet written (write-behind: responses do not wait for the database). */
  private readonly pendingWrites = new Set<Promise<void>>();

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
  }

  get source(): string {
    return this.tiles.source.id;
  }

  private memKey(k: TileKey): string {
    return `${this.models.version}/${tileKeyString(k)}`;
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
    let p = this.inFlight.get(id);
    if (!p) {
      p = this.load([k], true).then((m) => m.get(tileKeyString(k)) as AnalysisResult);
      p = p.finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, p);
    } else {
      this.metrics.singleFlightJoins.inc({ scope: "analysis" });
    }
    return p;
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
    const gen = this.models.manifest.models.generator;
    const [img] = await this.models.generate([{ key: a.key, terrain: a.terrain, latent: a.latent }]);
    const png = await generatedToPng(img, gen.size[1], gen.size[0]);
    const withImage = { ...a, image: png };
    this.remember(withImage);
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
  async flush(): Promise<void> {
    while (this.queued.length || this.pendingWrites.size) {
      if (this.queued.length) {
        clearTimeout(this.flushTimer);
        this.writeQueued();
      }
      await Promise.allSettled([...this.pendingWrites]);
    }
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
    for (let i = 0; i < missing.length; i += BATCH) {
      const chunk = missing.slice(i, i + BATCH);
      await this.gate.run(async () => {
        const computed = complete ? await this.compute(chunk) : await this.computeTerrain(chunk);
        for (const a of computed) out.set(tileKeyString(a.key), { analysis: a, cached: false });
      });
    }
    return out;
  }

  private remember(a: TileAnalysis): void {
    this.memory.set(this.memKey(a.key), a, a.image.byteLength + 8 * (a.terrain.length + a.latent.length) + 2 * a.grid.labels.length + 256);
  }

  /** The batch's tiles: those outside the source's coverage are left out; any other failure fails it. */
  private async fetchTiles(keys: TileKey[]): Promise<CachedTile[]> {
    if (keys.length === 1) return [await this.tiles.get(keys[0])];
    const fetched = await this.tiles.getMany(keys);
    const tiles: CachedTile[] = [];
    for (const k of keys) {
      const f = fetched.get(tileKeyString(k));
      if (!f) continue;
      if (!(f instanceof GroundviewError)) tiles.push(f);
      else if (f.code !== ErrorCode.TILE_NOT_FOUND) throw f;
    }
    return tiles;
  }

  /** The terrain classifier alone on the batch (terrain maps): rows without latent or landscape. */
  private async computeTerrain(keys: TileKey[]): Promise<TileAnalysis[]> {
    const tiles = await this.fetchTiles(keys);
    if (!tiles.length) return [];
    const end = this.metrics.inferenceSeconds.startTimer({ stage: "batch" });
    const tSpec = this.models.manifest.models.terrainClassifier;
    const [input] = await toBatches(
      tiles.map((t) => t.bytes),
      [tSpec.input],
    );
    const { probabilities: probs, grids } = await this.models.terrain(input, tiles.length);
    end();
    this.metrics.analysisLookups.inc({ result: "computed" }, tiles.length);
    const now = new Date();
    const results: TileAnalysis[] = tiles.map((t, i) => ({
      ...this.terrainOf(t, probs[i], grids?.[i]),
      latent: [],
      image: new Uint8Array(),
      imageHash: "",
      computedAt: now,
      complete: false,
    }));
    results.forEach((a) => this.remember(a));
    this.persist(results);
    return results;
  }

  private terrainOf(t: CachedTile, probs: Float32Array, grid: Float32Array | undefined) {
    const tSpec = this.models.manifest.models.terrainClassifier;
    const terrain = Array.from(probs);
    const best = terrain.indexOf(Math.max(...terrain));
    return {
      key: t.key,
      source: this.source,
      modelVersion: this.models.version,
      tileHash: t.contentHash,
      terrain,
      dominantTerrain: tSpec.classes[best],
      dominantProbability: terrain[best],
      grid: grid && tSpec.grid ? cleanGrid(grid, tSpec.classes.length, tSpec.grid.cells, tSpec.grid.minCells) : wholeTileGrid(terrain),
    };
  }

  /** Fetches the tiles and runs the three models on the batch, then stores the rows. */
  private async compute(keys: TileKey[]): Promise<TileAnalysis[]> {
    const tiles = await this.fetchTiles(keys);
    if (!tiles.length) return [];
    const end = this.metrics.inferenceSeconds.startTimer({ stage: "batch" });
    const m = this.models.manifest.models;
    const tSpec = m.terrainClassifier;
    // The encoder reads the terrain classifier's tensor when their input specs are the same;
    // otherwise each tile is decoded once and resized for both.
    const specs = sameInput(tSpec.input, m.encoder.input) ? [tSpec.input] : [tSpec.input, m.encoder.input];
    const [input, encInput] = await toBatches(
      tiles.map((t) => t.bytes),
      specs,
    );
    const {
      probabilities: probs,
      latents,
      images,
      grids,
    } = await this.models.landscapes(
      input,
      encInput,
      tiles.map((t) => t.key),
    );
    const pngs = await Promise.all(images.map((img) => generatedToPng(img, m.generator.size[1], m.generator.size[0])));
    end();
    this.metrics.analysisLookups.inc({ result: "computed" }, tiles.length);
    const now = new Date();
    const results: TileAnalysis[] = tiles.map((t, i) => ({
      ...this.terrainOf(t, probs[i], grids?.[i]),
      latent: Array.from(latents[i]),
      image: pngs[i],
      imageHash: createHash("sha256").update(pngs[i]).digest("hex"),
      computedAt: now,
      complete: true,
    }));
    results.forEach((a) => this.remember(a));
    this.persist(results);
    return results;
  }

  /**
   * Writes rows in the background: the memory cache already serves them, and a row that
   * fails to be written is simply computed again later (logged and counted).
   */
  private persist(results: TileAnalysis[]): void {
    // Rows computed within a few milliseconds of each other go out in one statement.
    this.queued.push(...results);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.writeQueued(), WRITE_COALESCE_MS);
  }

  private writeQueued(): void {
    this.flushTimer = undefined;
    // At most 1000 rows (13 parameters each) per statement: far below Postgres's 65535.
    const rows = this.queued.splice(0, 1000);
    if (this.queued.length) this.flushTimer = setTimeout(() => this.writeQueued(), 0);
    if (!rows.length) return;
    const write = this.store.insertMany(rows, this.models.manifest.models.terrainClassifier.classes).then(
      () => undefined,
      (err: unknown) => {
        this.metrics.analysisWriteErrors.inc(rows.length);
        console.error(`tile analysis write failed: ${(err as Error).message}`);
      },
    );
    this.pendingWrites.add(write);
    void write.finally(() => this.pendingWrites.delete(write));
  }
}

function sameInput(a: { size: number[]; mean: number[]; std: number[] }, b: { size: number[]; mean: number[]; std: number[] }): boolean {
  return JSON.stringify([a.size, a.mean, a.std]) === JSON.stringify([b.size, b.mean, b.std]);
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
