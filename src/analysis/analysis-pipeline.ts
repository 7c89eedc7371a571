/**
 * The analysis pipeline of a batch of tiles: fetch (through the tile cache) -> preprocess (the
 * export contract) -> infer (the model registry's worker) -> encode the generated landscape as
 * PNG. It computes; TileAnalysisService decides what to compute and keeps the results.
 */
import { createHash } from "node:crypto";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import { generatedToPng } from "../imaging/encode.js";
import { toBatches } from "../imaging/preprocess.js";
import type { ModelRegistry } from "../inference/model-registry.js";
import type { Metrics } from "../metrics/metrics.js";
import { cleanGrid, wholeTileGrid } from "../terrain/grid.js";
import type { CachedTile, TileCache } from "../tiles/tile-cache.js";
import { type TileKey, tileKeyString } from "../tiles/tile-math.js";
import type { TileAnalysis } from "./analysis.types.js";

export class AnalysisPipeline {
  constructor(
    private readonly tiles: TileCache,
    private readonly models: ModelRegistry,
    private readonly metrics: Metrics,
  ) {}

  get source(): string {
    return this.tiles.source.id;
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

  /** The terrain classifier alone on the batch (terrain maps): results without latent or landscape. */
  async terrainOnly(keys: TileKey[]): Promise<TileAnalysis[]> {
    const tiles = await this.fetchTiles(keys);
    if (!tiles.length) return [];
    const end = this.metrics.inferenceSeconds.startTimer({ stage: "batch" });
    const tSpec = this.models.manifest.models.terrainClassifier;
    const [input] = await toBatches(
      tiles.map((t) => t.bytes),
      [tSpec.input],
      undefined,
      tiles.map((t) => t.preview),
    );
    const { probabilities: probs, grids } = await this.models.terrain(input, tiles.length);
    end();
    this.metrics.analysisLookups.inc({ result: "computed" }, tiles.length);
    const now = new Date();
    return tiles.map((t, i) => ({
      ...this.terrainOf(t, probs[i], grids?.[i]),
      latent: [],
      image: new Uint8Array(),
      imageHash: "",
      computedAt: now,
      complete: false,
    }));
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

  /** Fetches the tiles and runs the three models on the batch (terrain, latent, generated landscape). */
  async full(keys: TileKey[]): Promise<TileAnalysis[]> {
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
      undefined,
      tiles.map((t) => t.preview),
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
    return tiles.map((t, i) => ({
      ...this.terrainOf(t, probs[i], grids?.[i]),
      latent: Array.from(latents[i]),
      image: pngs[i],
      imageHash: createHash("sha256").update(pngs[i]).digest("hex"),
      computedAt: now,
      complete: true,
    }));
  }

  /**
   * The generated landscape PNG of a complete analysis of this model version, regenerated from its
   * terrain, latent and tile key (the generator and the tile's noise are deterministic).
   */
  async regenerate(a: TileAnalysis): Promise<Uint8Array> {
    const gen = this.models.manifest.models.generator;
    const [img] = await this.models.generate([{ key: a.key, terrain: a.terrain, latent: a.latent }]);
    return generatedToPng(img, gen.size[1], gen.size[0]);
  }
}

function sameInput(a: { size: number[]; mean: number[]; std: number[] }, b: { size: number[]; mean: number[]; std: number[] }): boolean {
  return JSON.stringify([a.size, a.mean, a.std]) === JSON.stringify([b.size, b.mean, b.std]);
}
