/** Messages between ModelRegistry (main thread) and inference-worker (its thread). */
import type { Manifest } from "./manifest.js";

export interface WorkerData {
  dir: string;
  manifest: Manifest;
  intraOpThreads: number;
  /** Nice value of the worker thread and the onnxruntime threads it starts (Linux: per thread). */
  nice: number;
}

/**
 * `inputs` are float32 batches of `n` rows, transferred, not copied: landscape → [terrain
 * classifier input, per-tile noise (empty for a latent-only generator), encoder input (only
 * when its spec differs)]; terrain → [terrain classifier input]; scene → [photo input]; generate → [terrain probabilities, latents,
 * noise]; change → [before, after] (each as the change detector's input).
 */
export interface WorkerRequest {
  id: number;
  op: "landscape" | "terrain" | "scene" | "generate" | "change";
  n: number;
  inputs: Float32Array[];
}

/**
 * outputs, row-major with `n` rows each: landscape → [terrain probabilities, latents, images,
 * terrain grids (only when the terrain classifier has a grid output)]; terrain → [terrain probabilities, grids (idem)];
 * scene → [probabilities, embeddings]; generate → [images]; change → [change probabilities (cells²
 * per row)].
 */
export interface WorkerResponse {
  id: number;
  outputs?: Float32Array[];
  error?: string;
}
