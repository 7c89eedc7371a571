/** What a tile analysis is: the models' results for one tile of one imagery layer and model version. */
import type { TerrainGrid } from "../terrain/grid.js";
import type { TileKey } from "../tiles/tile-math.js";

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
