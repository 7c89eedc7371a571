/**
 * Loads models/manifest.json and its ONNX files once, at start-up, into onnxruntime-node
 * sessions, and runs batched inference. Session options come from measurements (README,
 * "Inference"; scripts/measure-onnx.mjs): on the 2-core target two intra-op threads halve
 * each model's latency and still give the best throughput with concurrent requests, and
 * spinning is off so idle ORT threads leave the CPU to sharp and the event loop.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import ort from "onnxruntime-node";
import type { Manifest } from "./manifest.js";

export interface InferenceOptions {
  intraOpThreads: number;
}

type Session = ort.InferenceSession;

export class ModelRegistry {
  private constructor(
    readonly manifest: Manifest,
    private readonly terrain: Session,
    private readonly scene: Session,
    private readonly generator: Session,
    private readonly encoder: Session,
  ) {}

  get version(): string {
    return this.manifest.version;
  }

  static async load(dir: string, opts: InferenceOptions): Promise<ModelRegistry> {
    const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as Manifest;
    const m = manifest.models;
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: opts.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      // Idle intra-op threads would otherwise spin after each run and steal the CPU that
      // sharp and the event loop need on a small machine.
      extra: { session: { intra_op: { allow_spinning: "0" } } },
    };
    const open = (file: string) => ort.InferenceSession.create(path.join(dir, file), options);
    const [t, s, g, e] = await Promise.all([
      open(m.terrainClassifier.file),
      open(m.sceneClassifier.file),
      open(m.generator.file),
      open(m.encoder.file),
    ]);
    if (m.generator.latentDim !== m.encoder.latentDim) throw new Error("manifest: encoder and generator latent sizes differ");
    return new ModelRegistry(manifest, t, s, g, e);
  }

  /** Terrain probabilities for a batch of normalised tiles (N×3×H×W). Rows sum to 1. */
  async terrainProbabilities(batch: Float32Array, n: number): Promise<Float32Array[]> {
    const spec = this.manifest.models.terrainClassifier;
    const out = await this.terrain.run({ [spec.input.name]: new ort.Tensor("float32", batch, [n, 3, ...spec.input.size]) });
    return rows(out[spec.outputs.probabilities].data as Float32Array, n);
  }

  async encode(batch: Float32Array, n: number): Promise<Float32Array[]> {
    const spec = this.manifest.models.encoder;
    const out = await this.encoder.run({ [spec.input.name]: new ort.Tensor("float32", batch, [n, 3, ...spec.input.size]) });
    return rows(out[spec.outputs.latent].data as Float32Array, n);
  }

  /** Generated images in [-1, 1], each 3×128×128 (NCHW). */
  async generate(latents: Float32Array[]): Promise<Float32Array[]> {
    const spec = this.manifest.models.generator;
    const flat = new Float32Array(latents.length * spec.latentDim);
    latents.forEach((z, i) => flat.set(z, i * spec.latentDim));
    const out = await this.generator.run({ [spec.input.name]: new ort.Tensor("float32", flat, [latents.length, spec.latentDim]) });
    return rows(out[spec.outputs.image].data as Float32Array, latents.length);
  }

  async sceneProbabilities(batch: Float32Array, n: number): Promise<{ probabilities: Float32Array[]; embeddings: Float32Array[] }> {
    const spec = this.manifest.models.sceneClassifier;
    const out = await this.scene.run({ [spec.input.name]: new ort.Tensor("float32", batch, [n, 3, ...spec.input.size]) });
    return {
      probabilities: rows(out[spec.outputs.probabilities].data as Float32Array, n),
      embeddings: rows(out[spec.outputs.embedding as string].data as Float32Array, n),
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.terrain.release(), this.scene.release(), this.generator.release(), this.encoder.release()]);
  }
}

function rows(flat: Float32Array, n: number): Float32Array[] {
  const k = flat.length / n;
  return Array.from({ length: n }, (_, i) => flat.slice(i * k, (i + 1) * k));
}
