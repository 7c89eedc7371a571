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

export interface Manifest {
  version: string;
  trainedAt: string;
  dryRun?: boolean;
  models: {
    terrainClassifier: TerrainClassifierSpec;
    sceneClassifier: ClassifierSpec & { embeddingDim: number };
    generator: {
      file: string;
      golden: string;
      latentDim: number;
      input: { name: string };
      outputs: { image: string };
      outputRange: [number, number];
      size: [number, number];
    };
    encoder: { file: string; golden: string; latentDim: number; input: ImageInputSpec; outputs: { latent: string } };
    validation: ValidationSpec;
  };
}
