/**
 * The inference worker: owns the four onnxruntime sessions and runs them off the event loop.
 *
 * onnxruntime-node's `run` is synchronous on the calling thread, so sessions on the main
 * thread would block every request (cached tiles included) for the length of each inference.
 * Here a worker thread runs them instead; the main thread only posts batches and receives
 * rows (see ModelRegistry, which also merges concurrent requests into one batch).
 */
import { parentPort, workerData } from "node:worker_threads";
import os from "node:os";
import path from "node:path";
import ort from "onnxruntime-node";
import type { Manifest } from "./manifest.js";
import type { WorkerData, WorkerRequest, WorkerResponse } from "./worker-protocol.js";

const { dir, manifest, intraOpThreads, nice } = workerData as WorkerData;
// Model runs yield the CPU to the event loop: on Linux the nice value is per thread, so setting it
// here, before the sessions start their thread pools, lowers only this thread and onnxruntime's.
// Cached answers (served on the main thread) then stay fast while heavy requests queue here.
if (nice) {
  try {
    os.setPriority(nice);
  } catch {
    // lowering priority is always allowed on Linux; elsewhere it may not be, and then it is only slower
  }
}
const m: Manifest["models"] = manifest.models;
const options: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: intraOpThreads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
  // Idle intra-op threads would otherwise spin after each run and steal the CPU that the
  // event loop and sharp need on a small machine.
  extra: { session: { intra_op: { allow_spinning: "0" } } },
};
const open = (file: string) => ort.InferenceSession.create(path.join(dir, file), options);

type Session = ort.InferenceSession;
let sessions: { terrain: Session; scene: Session; generator: Session; encoder: Session; change?: Session };

/** Copies an output tensor's data into a buffer the worker may transfer. */
function own(t: ort.Tensor): Float32Array {
  return new Float32Array(t.data as Float32Array);
}

function imageTensor(data: Float32Array, n: number, size: [number, number]): ort.Tensor {
  return new ort.Tensor("float32", data, [n, 3, ...size]);
}

async function generate(terrain: Float32Array, latents: Float32Array, noise: Float32Array, n: number): Promise<Float32Array> {
  const g = m.generator;
  const tensor = (data: Float32Array, width: number) => new ort.Tensor("float32", data, [n, width]);
  const feeds = g.inputs
    ? {
        [g.inputs.terrain]: tensor(terrain, m.terrainClassifier.classes.length),
        [g.inputs.latent]: tensor(latents, g.latentDim),
        [g.inputs.noise]: tensor(noise, g.noiseDim!),
      }
    : { [g.input!.name]: tensor(latents, g.latentDim) };
  const out = await sessions.generator.run(feeds);
  return own(out[g.outputs.image]);
}

async function handle(req: WorkerRequest): Promise<WorkerResponse> {
  switch (req.op) {
    case "landscape": {
      const [input, noise, encoderInput] = req.inputs;
      const t = await sessions.terrain.run({
        [m.terrainClassifier.input.name]: imageTensor(input, req.n, m.terrainClassifier.input.size),
      });
      const e = await sessions.encoder.run({
        [m.encoder.input.name]: imageTensor(encoderInput ?? input, req.n, m.encoder.input.size),
      });
      const probabilities = own(t[m.terrainClassifier.outputs.probabilities]);
      const latents = own(e[m.encoder.outputs.latent]);
      const images = await generate(probabilities, latents, noise, req.n);
      const grid = m.terrainClassifier.outputs.grid;
      return { id: req.id, outputs: grid ? [probabilities, latents, images, own(t[grid])] : [probabilities, latents, images] };
    }
    case "terrain": {
      const t = await sessions.terrain.run({
        [m.terrainClassifier.input.name]: imageTensor(req.inputs[0], req.n, m.terrainClassifier.input.size),
      });
      const grid = m.terrainClassifier.outputs.grid;
      const probabilities = own(t[m.terrainClassifier.outputs.probabilities]);
      return { id: req.id, outputs: grid ? [probabilities, own(t[grid])] : [probabilities] };
    }
    case "scene": {
      const s = await sessions.scene.run({
        [m.sceneClassifier.input.name]: imageTensor(req.inputs[0], req.n, m.sceneClassifier.input.size),
      });
      return {
        id: req.id,
        outputs: [own(s[m.sceneClassifier.outputs.probabilities]), own(s[m.sceneClassifier.outputs.embedding as string])],
      };
    }
    case "generate": {
      const [terrain, latents, noise] = req.inputs;
      return { id: req.id, outputs: [await generate(terrain, latents, noise, req.n)] };
    }
    case "change": {
      const c = m.changeDetector;
      if (!c || !sessions.change) throw new Error("the models have no change detector");
      const [before, after] = req.inputs;
      const out = await sessions.change.run({
        [c.input.names[0]]: imageTensor(before, req.n, c.input.size),
        [c.input.names[1]]: imageTensor(after, req.n, c.input.size),
      });
      return { id: req.id, outputs: [own(out[c.outputs.change])] };
    }
  }
}

const port = parentPort;
if (!port) throw new Error("inference-worker must run in a worker thread");
try {
  const [terrain, scene, generator, encoder, change] = await Promise.all([
    open(m.terrainClassifier.file),
    open(m.sceneClassifier.file),
    open(m.generator.file),
    open(m.encoder.file),
    m.changeDetector ? open(m.changeDetector.file) : undefined,
  ]);
  sessions = { terrain, scene, generator, encoder, change };
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, error: (err as Error).message });
}
port.on("message", async (req: WorkerRequest | "close") => {
  if (req === "close") {
    await Promise.all(Object.values(sessions).map((s) => s?.release()));
    port.close();
    return;
  }
  try {
    const res = await handle(req);
    port.postMessage(
      res,
      res.outputs!.map((o) => o.buffer as ArrayBuffer),
    );
  } catch (err) {
    port.postMessage({ id: req.id, error: (err as Error).message } satisfies WorkerResponse);
  }
});
