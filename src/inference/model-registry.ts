/**
 * Loads models/manifest.json once at start-up and runs the four ONNX models in an inference
 * worker thread (inference-worker.ts): onnxruntime-node's `run` blocks its thread, and on the
 * main thread it would stall every other request for the length of each inference.
 *
 * Requests are micro-batched without waiting: while the worker runs one batch, requests of
 * the same kind queue up, and the next run takes all of them at once (up to MAX_BATCH
 * images). An idle service adds no latency; a busy one runs fewer, larger batches, which
 * cost less per image. Session options come from measurements (README, "Inference";
 * scripts/measure-onnx.mjs).
 */
import { GroundTerrain, Terrain } from "../terrain/terrain.enum.js";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { Manifest } from "./manifest.js";
import { tileNoise } from "./tile-noise.js";
import type { TileKey } from "../tiles/tile-math.js";
import type { WorkerData, WorkerRequest, WorkerResponse } from "./worker-protocol.js";

export interface InferenceOptions {
  intraOpThreads: number;
  /** Scheduling niceness of the inference threads (0: as the main thread). */
  nice?: number;
}

/** Most images (or latents) one worker run takes. */
export const MAX_BATCH = 32;

type Op = WorkerRequest["op"];

interface Job {
  op: Op;
  n: number;
  /** Per-input arrays of this job, concatenated with other jobs' when batched. */
  inputs: Float32Array[];
  resolve: (outputs: Float32Array[][]) => void;
  reject: (err: Error) => void;
}

export interface LandscapeOutputs {
  probabilities: Float32Array[];
  latents: Float32Array[];
  /** Generated images in [-1, 1], each 3×H×W (NCHW). */
  images: Float32Array[];
  /** Per tile, the terrain grid's probabilities (classes × cells × cells), when the model has a grid output. */
  grids?: Float32Array[];
}

/** What regenerates a stored landscape. */
export interface GeneratorRow {
  key: TileKey;
  terrain: ArrayLike<number>;
  latent: ArrayLike<number>;
}

export class ModelRegistry {
  private readonly queue: Job[] = [];
  /** A dead worker's replacement is loading. */
  private respawning = false;
  private nextId = 1;
  private inFlight: { id: number; jobs: Job[]; op: Op; n: number; started: bigint } | undefined;
  private closed = false;
  /** Called after every worker run with its op, batch size and duration (metrics, tests). */
  onRun: ((op: Op, n: number, seconds: number) => void) | undefined;

  private constructor(
    readonly manifest: Manifest,
    private worker: Worker,
    private readonly spawn: () => Promise<Worker>,
  ) {
    this.attach(worker);
  }

  /** False once closed, or when a replacement for a dead worker could not load the models. */
  get ready(): boolean {
    return !this.closed;
  }

  get version(): string {
    return this.manifest.version;
  }

  static async load(dir: string, opts: InferenceOptions): Promise<ModelRegistry> {
    const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as Manifest;
    const m = manifest.models;
    checkClasses("terrainClassifier", m.terrainClassifier.classes, Object.values(Terrain));
    checkClasses("sceneClassifier", m.sceneClassifier.classes, Object.values(GroundTerrain));
    if (m.generator.latentDim !== m.encoder.latentDim) throw new Error("manifest: encoder and generator latent sizes differ");
    const g = m.generator;
    if (g.inputs && !(Number.isInteger(g.noiseDim) && g.noiseDim! > 0 && typeof g.noiseSeed === "string" && g.noiseSeed))
      throw new Error("manifest: a conditional generator needs a positive noiseDim and a noiseSeed");
    if (!g.inputs && !g.input) throw new Error("manifest: the generator names no input");
    const grid = m.terrainClassifier.grid;
    if (m.terrainClassifier.outputs.grid || grid) {
      if (!m.terrainClassifier.outputs.grid || !grid) throw new Error("manifest: the terrain grid needs both outputs.grid and grid");
      if (!(Number.isInteger(Math.log2(grid.cells)) && grid.cells >= 1 && grid.cells <= 64))
        throw new Error(`manifest: terrain grid cells ${grid.cells} is not a power of two up to 64`);
      if (!(Number.isInteger(grid.minCells) && grid.minCells >= 1))
        throw new Error("manifest: terrain grid minCells must be a positive integer");
    }
    const c = m.changeDetector;
    if (c) {
      if (!(Number.isInteger(Math.log2(c.cells)) && c.cells >= 1 && c.cells <= 64))
        throw new Error(`manifest: change detector cells ${c.cells} is not a power of two up to 64`);
      if (!(c.threshold > 0 && c.threshold < 1)) throw new Error(`manifest: change detector threshold ${c.threshold} is not in (0, 1)`);
      if (c.input.names?.length !== 2) throw new Error("manifest: the change detector needs two input names");
    }
    for (const t of [m.validation.calibration.terrainTemperature, m.validation.calibration.sceneTemperature]) {
      if (t !== undefined && !(Number.isFinite(t) && t > 0))
        throw new Error(`manifest: validation temperature ${t} is not a positive number`);
    }
    const data: WorkerData = { dir, manifest, intraOpThreads: opts.intraOpThreads, nice: opts.nice ?? 0 };
    const spawn = () => startWorker(data);
    return new ModelRegistry(manifest, await spawn(), spawn);
  }

  /**
   * Terrain probabilities, latents and generated images for `tiles` (N×3×H×W inputs, one per
   * tile, in order). The encoder reads `terrainInput` too unless given its own (required when
   * its input size differs). The tiles' keys seed their generator noise.
   */
  async landscapes(terrainInput: Float32Array, encoderInput: Float32Array | undefined, tiles: TileKey[]): Promise<LandscapeOutputs> {
    const { terrainClassifier: t, encoder: e } = this.manifest.models;
    if (!encoderInput && (t.input.size[0] !== e.input.size[0] || t.input.size[1] !== e.input.size[1])) {
      throw new Error(`the encoder takes ${e.input.size.join("x")} inputs, the terrain classifier ${t.input.size.join("x")}: pass both`);
    }
    const noise = this.noise(tiles);
    const inputs = encoderInput ? [terrainInput, noise, encoderInput] : [terrainInput, noise];
    const [probabilities, latents, images, grids] = await this.submit("landscape", tiles.length, inputs);
    return { probabilities, latents, images, grids };
  }

  /**
   * Generated images in [-1, 1], each 3×H×W (NCHW), for stored results: a tile's key (its
   * noise), terrain probabilities and latent give back the picture computed with them.
   */
  async generate(rows: GeneratorRow[]): Promise<Float32Array[]> {
    const { generator: g, terrainClassifier: t } = this.manifest.models;
    const nt = t.classes.length;
    const terrain = new Float32Array(rows.length * nt);
    const latents = new Float32Array(rows.length * g.latentDim);
    rows.forEach((r, i) => {
      terrain.set(r.terrain, i * nt);
      latents.set(r.latent, i * g.latentDim);
    });
    const [images] = await this.submit("generate", rows.length, [terrain, latents, this.noise(rows.map((r) => r.key))]);
    return images;
  }

  /** Per-tile noise rows for a conditional generator; empty for a latent-only one. */
  private noise(tiles: TileKey[]): Float32Array {
    const g = this.manifest.models.generator;
    if (!g.inputs) return new Float32Array(0);
    const d = g.noiseDim!;
    const out = new Float32Array(tiles.length * d);
    tiles.forEach((k, i) => out.set(tileNoise(g.noiseSeed!, k, d), i * d));
    return out;
  }

  /** Terrain probabilities (and grids, when the model has them) only: what terrain maps need, at a fraction of a landscape's cost. */
  async terrain(terrainInput: Float32Array, n: number): Promise<{ probabilities: Float32Array[]; grids?: Float32Array[] }> {
    const [probabilities, grids] = await this.submit("terrain", n, [terrainInput]);
    return { probabilities, grids };
  }

  /**
   * Per pair of tiles (before, after: N×3×H×W, the change detector's input), the probability
   * that each cell's terrain changed (cells² values per pair). Throws when the models have no
   * change detector.
   */
  async change(before: Float32Array, after: Float32Array, n: number): Promise<Float32Array[]> {
    if (!this.manifest.models.changeDetector) throw new Error("the models have no change detector");
    const [change] = await this.submit("change", n, [before, after]);
    return change;
  }

  async sceneProbabilities(batch: Float32Array, n: number): Promise<{ probabilities: Float32Array[]; embeddings: Float32Array[] }> {
    const [probabilities, embeddings] = await this.submit("scene", n, [batch]);
    return { probabilities, embeddings };
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = unavailable("the service is stopping");
    for (const j of this.queue.splice(0)) j.reject(err);
    const exited = new Promise((r) => this.worker.once("exit", r));
    this.worker.postMessage("close");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.worker.terminate();
  }

  private submit(op: Op, n: number, inputs: Float32Array[]): Promise<Float32Array[][]> {
    if (this.closed) return Promise.reject(unavailable("the models are not running; see the service log"));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, n, inputs, resolve, reject });
      this.pump();
    });
  }

  /** Sends the next batch: the oldest job and every queued job of the same op that fits. */
  private pump(): void {
    if (this.inFlight || this.respawning || !this.queue.length || this.closed) return;
    const op = this.queue[0].op;
    const jobs: Job[] = [];
    let n = 0;
    for (let i = 0; i < this.queue.length;) {
      const j = this.queue[i];
      if (j.op === op && (jobs.length === 0 || n + j.n <= MAX_BATCH)) {
        jobs.push(j);
        n += j.n;
        this.queue.splice(i, 1);
      } else i++;
    }
    const inputs = jobs.length === 1 ? jobs[0].inputs : jobs[0].inputs.map((_, k) => concat(jobs.map((j) => j.inputs[k])));
    const id = this.nextId++;
    this.inFlight = { id, jobs, op, n, started: process.hrtime.bigint() };
    const req: WorkerRequest = { id, op, n, inputs };
    this.worker.postMessage(
      req,
      inputs.map((a) => a.buffer as ArrayBuffer),
    );
  }

  private attach(worker: Worker): void {
    worker.on("message", (res: WorkerResponse) => this.finish(res));
    worker.on("error", (err) => this.fail(err));
    worker.on("exit", (code) => {
      if (!this.closed) this.fail(new Error(`inference worker exited with code ${code}`));
    });
  }

  private finish(res: WorkerResponse): void {
    const run = this.inFlight;
    if (!run || run.id !== res.id) return;
    this.inFlight = undefined;
    this.onRun?.(run.op, run.n, Number(process.hrtime.bigint() - run.started) / 1e9);
    if (res.error) {
      const err = new Error(`inference failed: ${res.error}`);
      run.jobs.forEach((j) => j.reject(err));
    } else {
      // Split each output's rows back to the jobs, in order.
      const perOutput = res.outputs!.map((o) => rows(o, run.n));
      let at = 0;
      for (const j of run.jobs) {
        j.resolve(perOutput.map((r) => r.slice(at, at + j.n)));
        at += j.n;
      }
    }
    this.pump();
  }

  /** The worker died: fail what it was running, start a new one, then carry on with the queue. */
  private fail(err: Error): void {
    const run = this.inFlight;
    this.inFlight = undefined;
    run?.jobs.forEach((j) => j.reject(unavailable("the inference worker stopped during this request; retry", err)));
    if (this.closed) return;
    console.error(`inference worker failed (${err.message}); starting a new one`);
    this.respawning = true;
    this.worker.removeAllListeners();
    void this.worker.terminate();
    this.spawn().then(
      (w) => {
        this.worker = w;
        this.attach(w);
        this.respawning = false;
        this.pump();
      },
      (e: Error) => {
        this.closed = true;
        console.error(`inference worker could not be restarted: ${e.message}`);
        for (const j of this.queue.splice(0)) j.reject(unavailable("the models are not running; see the service log", e));
      },
    );
  }
}

/** Starts a worker and resolves once its sessions are loaded. */
function startWorker(data: WorkerData): Promise<Worker> {
  const worker = new Worker(new URL("./inference-worker.js", import.meta.url), { workerData: data });
  return new Promise((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`inference worker exited with code ${code} while loading`));
    worker.once("error", reject);
    worker.once("exit", onExit);
    worker.once("message", (msg: { ready: boolean; error?: string }) => {
      worker.off("error", reject);
      worker.off("exit", onExit);
      if (msg.ready) resolve(worker);
      else {
        void worker.terminate();
        reject(new Error(msg.error ?? "inference worker failed to load the models"));
      }
    });
  });
}

function unavailable(message: string, cause?: Error): GroundviewError {
  return new GroundviewError(ErrorCode.MODEL_UNAVAILABLE, message, {}, cause);
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function rows(flat: Float32Array, n: number): Float32Array[] {
  const k = flat.length / n;
  return Array.from({ length: n }, (_, i) => flat.subarray(i * k, (i + 1) * k));
}

/**
 * The class names a model outputs must be the ones the API can answer with (the GraphQL enums):
 * a renamed or unknown class is refused at start-up, not when a response is serialised.
 */
function checkClasses(model: string, classes: unknown, known: string[]): void {
  if (!Array.isArray(classes) || classes.length === 0) throw new Error(`manifest: ${model}.classes is not a list of class names`);
  const unknown = classes.filter((c) => !known.includes(c as string));
  if (unknown.length)
    throw new Error(`manifest: ${model} has classes the API does not know: ${unknown.join(", ")} (known: ${known.join(", ")})`);
  if (new Set(classes).size !== classes.length) throw new Error(`manifest: ${model}.classes names a class twice`);
}
