/** The shape of models/manifest.json written by trainer/export.py (the export contract). */
export interface ImageInputSpec {
  name: string;
  size: [number, number];
  mean: [number, number, number];
  std: [number, number, number];
}

export interface ClassifierSpec {
  file: string;
  golden: string;
  classes: string[];
  input: ImageInputSpec;
  outputs: { probabilities: string; embedding?: string };
  metrics: Record<string, unknown>;
}

export interface TerrainClassifierSpec extends ClassifierSpec {
  groundResolutionM: number;
  /** Ground width (m) the model expects its input to span. */
  footprintM: number;
  outputs: { probabilities: string; grid?: string };
  /**
   * The terrain grid output (N, classes, cells, cells) when the model has one: cells a side (a
   * power of two) and the cleaning's smallest piece in cells. Without it a tile's grid is one cell.
   */
  grid?: { cells: number; minCells: number; metrics?: Record<string, unknown> };
}

export interface ValidationSpec {
  compatibility: { satellite: string[]; ground: string[]; matrix: number[][] };
  groundPrior: number[];
  /** Temperatures absent: 1 (manifests written before they were fitted). */
  calibration: { type: "logistic"; a: number; b: number; terrainTemperature?: number; sceneTemperature?: number };
  threshold: number;
  plausibleAbove: number;
  suspiciousBelow: number;
  rocAuc: number;
}

/**
 * The generator's contract. A conditional generator (`inputs`) takes the tile's terrain
 * probabilities, the encoder's latent and `noiseDim` values of per-tile noise drawn with
 * `noiseSeed` (tile-noise.ts); an older latent-only generator has `input` alone.
 */
export interface GeneratorSpec {
  file: string;
  golden: string;
  latentDim: number;
  input?: { name: string };
  inputs?: { terrain: string; latent: string; noise: string };
  noiseDim?: number;
  noiseSeed?: string;
  outputs: { image: string };
  outputRange: [number, number];
  size: [number, number];
}

/**
 * The change detector (issue 14): two dates of a tile, each prepared as the terrain classifier's
 * input, -> per cell of a `cells`² grid the probability that the terrain there changed. A cell
 * counts as changed at `threshold` (chosen on held-out pairs so that light, season and sensor
 * alone flag at most `metrics.maxFalseChangeShare` of the area).
 */
export interface ChangeDetectorSpec {
  file: string;
  sha256: string;
  input: ImageInputSpec & { names: [string, string] };
  outputs: { change: string };
  cells: number;
  threshold: number;
  metrics: Record<string, unknown>;
}

export interface Manifest {
  version: string;
  trainedAt: string;
  dryRun?: boolean;
  models: {
    terrainClassifier: TerrainClassifierSpec;
    sceneClassifier: ClassifierSpec & { embeddingDim: number };
    generator: GeneratorSpec;
    encoder: { file: string; golden: string; latentDim: number; input: ImageInputSpec; outputs: { latent: string } };
    validation: ValidationSpec;
    /** Absent in manifests written before issue 14: terrainChange then compares the terrain grids alone. */
    changeDetector?: ChangeDetectorSpec;
  };
}
