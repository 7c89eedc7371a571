/** Messages between ModelRegistry (main thread) and inference-worker (its thread). */
import type { Manifest } from "./manifest.js";

export interface WorkerData {
  dir: string;
  manifest: Manifest;
  intraOpThreads: number;
}

/** Inputs are NCHW float32 batches of `n` images (or `n` latents), transferred, not copied. */
export type WorkerRequest =
  | { id: number; op: "landscape"; n: number; terrain: Float32Array; encoder?: Float32Array }
  | { id: number; op: "scene"; n: number; input: Float32Array }
  | { id: number; op: "generate"; n: number; latents: Float32Array };

/**
 * outputs, row-major with `n` rows each: landscape → [terrain probabilities, latents, images];
 * scene → [probabilities, embeddings]; generate → [images].
 */
export interface WorkerResponse {
  id: number;
  outputs?: Float32Array[];
  error?: string;
}
