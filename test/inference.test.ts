/**
 * The inference worker: results match onnxruntime on the main thread, concurrent requests
 * are merged into one worker run, and a worker that dies is replaced without losing the queue.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import ort from "onnxruntime-node";
import { MAX_BATCH, ModelRegistry } from "../src/inference/model-registry.js";

const MODELS = fileURLToPath(new URL("../../models/", import.meta.url));

function randomInput(n: number, size: number, seed: number): Float32Array {
  const a = new Float32Array(n * 3 * size * size);
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    a[i] = (s / 0x7fffffff) * 4 - 2;
  }
  return a;
}

const key = (i: number) => ({ z: 17, x: 29436 + i, y: 46090 });
/** A generator input row: a tile, uniform terrain probabilities and a constant latent. */
const row = (i: number, latentDim: number, v: number) => ({
  key: key(i),
  terrain: new Float32Array(7).fill(1 / 7),
  latent: new Float32Array(latentDim).fill(v),
});
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe("inference worker", () => {
  let reg: ModelRegistry;
  before(async () => {
    reg = await ModelRegistry.load(MODELS, { intraOpThreads: 1 });
  });
  after(() => reg.close());

  test("landscape outputs equal onnxruntime's on the main thread", async () => {
    const m = reg.manifest.models;
    // The terrain classifier may be served at another size than the encoder's (trainer/train_terrain.py).
    const size = m.terrainClassifier.input.size[0];
    const encSize = m.encoder.input.size[0];
    const input = randomInput(2, size, 7);
    const encInput = randomInput(2, encSize, 8);
    const opts = { intraOpNumThreads: 1 };
    const terrain = await ort.InferenceSession.create(`${MODELS}${m.terrainClassifier.file}`, opts);
    const encoder = await ort.InferenceSession.create(`${MODELS}${m.encoder.file}`, opts);
    const wantP = (await terrain.run({ [m.terrainClassifier.input.name]: new ort.Tensor("float32", input.slice(), [2, 3, size, size]) }))[
      m.terrainClassifier.outputs.probabilities
    ].data as Float32Array;
    const encTensor = new ort.Tensor("float32", encInput.slice(), [2, 3, encSize, encSize]);
    const wantZ = (await encoder.run({ [m.encoder.input.name]: encTensor }))[m.encoder.outputs.latent].data as Float32Array;
    const keys = [key(0), key(1)];
    const got = await reg.landscapes(input.slice(), encInput.slice(), keys);
    assert.equal(got.probabilities.length, 2);
    assert.ok(maxDiff(wantP.subarray(0, 7), got.probabilities[0]) < 1e-5);
    assert.ok(maxDiff(wantZ.subarray(m.encoder.latentDim), got.latents[1]) < 1e-5);
    assert.equal(got.images[0].length, 3 * 128 * 128);
    const [again] = await reg.generate([{ key: keys[0], terrain: got.probabilities[0], latent: got.latents[0] }]);
    assert.ok(maxDiff(again, got.images[0]) < 1e-5, "a stored tile's picture is regenerated exactly");
  });

  test("concurrent requests are merged into fewer worker runs with the same results", async () => {
    const size = reg.manifest.models.terrainClassifier.input.size[0];
    const encSize = reg.manifest.models.encoder.input.size[0];
    const inputs = Array.from({ length: 12 }, (_, i) => [randomInput(1, size, 100 + i), randomInput(1, encSize, 200 + i)]);
    const alone: Awaited<ReturnType<ModelRegistry["landscapes"]>>[] = [];
    for (const [i, [x, e]] of inputs.entries()) alone.push(await reg.landscapes(x.slice(), e.slice(), [key(i)]));
    let used = 0;
    reg.onRun = () => used++;
    const together = await Promise.all(inputs.map(([x, e], i) => reg.landscapes(x.slice(), e.slice(), [key(i)])));
    reg.onRun = undefined;
    assert.ok(used < inputs.length, `12 concurrent requests took ${used} worker runs`);
    together.forEach((r, i) => {
      assert.ok(maxDiff(r.latents[0], alone[i].latents[0]) < 1e-4, `request ${i} got its own latent back`);
      assert.ok(maxDiff(r.probabilities[0], alone[i].probabilities[0]) < 1e-4);
      assert.ok(maxDiff(r.images[0], alone[i].images[0]) < 1e-4, `request ${i} got its own picture back`);
    });
  });

  test("a batch never exceeds MAX_BATCH and mixed kinds of requests all complete", async () => {
    const m = reg.manifest.models;
    const sizes: number[] = [];
    reg.onRun = (_op, n) => sizes.push(n);
    const d = m.generator.latentDim;
    const jobs = [
      ...Array.from({ length: MAX_BATCH + 5 }, (_, i) => reg.generate([row(i, d, i / 40)])),
      reg.sceneProbabilities(randomInput(1, m.sceneClassifier.input.size[0], 3), 1),
    ];
    const res = await Promise.all(jobs);
    reg.onRun = undefined;
    const images = res.slice(0, -1) as Float32Array[][];
    for (const [img] of images) assert.ok(img.length === 3 * 128 * 128 && img.every((v) => Number.isFinite(v) && Math.abs(v) <= 1));
    const scene = res.at(-1) as { probabilities: Float32Array[] };
    assert.ok(Math.abs(scene.probabilities[0].reduce((a, v) => a + v, 0) - 1) < 1e-4, "the scene request got probabilities");
    assert.ok(Math.max(...sizes) <= MAX_BATCH, `batch sizes ${sizes.join(",")}`);
    assert.equal(
      sizes.reduce((a, n) => a + n, 0),
      MAX_BATCH + 6,
      "every request ran in exactly one batch",
    );
  });

  test("a worker that dies fails only its run and is replaced", async () => {
    const d = reg.manifest.models.generator.latentDim;
    // Simulates a crash of the native runtime.
    await (reg as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const [img] = await reg.generate([row(0, d, 0)]);
    assert.equal(img.length, 3 * 128 * 128);
    assert.ok(reg.ready);
  });

  test("after close, requests fail with MODEL_UNAVAILABLE and the registry is not ready", async () => {
    const other = await ModelRegistry.load(MODELS, { intraOpThreads: 1 });
    await other.close();
    assert.equal(other.ready, false);
    await assert.rejects(
      other.generate([row(0, other.manifest.models.generator.latentDim, 0)]),
      (e: Error & { extensions?: { code?: string } }) => {
        assert.equal(e.extensions?.code, "MODEL_UNAVAILABLE");
        return true;
      },
    );
  });
});

test("a landscape request without the encoder's own input is refused when the two input sizes differ", async () => {
  // The shipped files under a manifest that gives the encoder another input size than the terrain classifier.
  const dir = await mkdtemp(path.join(os.tmpdir(), "gv-models-"));
  const manifest = JSON.parse(await readFile(`${MODELS}manifest.json`, "utf8"));
  for (const spec of Object.values(manifest.models) as { file?: string }[]) {
    if (spec.file) await symlink(`${MODELS}${spec.file}`, path.join(dir, spec.file));
  }
  const size = manifest.models.terrainClassifier.input.size[0];
  manifest.models.encoder.input.size = [size + 8, size + 8];
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest));
  const reg = await ModelRegistry.load(dir, { intraOpThreads: 1 });
  try {
    await assert.rejects(reg.landscapes(randomInput(1, size, 5), undefined, [key(0)]), /pass both/);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true });
  }
});

test("a conditional generator's picture depends on the tile; the same tile always gets the same picture", async () => {
  const reg = await ModelRegistry.load(MODELS, { intraOpThreads: 1 });
  try {
    const d = reg.manifest.models.generator.latentDim;
    const [a, again, other] = await reg.generate([row(0, d, 0.3), row(0, d, 0.3), row(1, d, 0.3)]);
    assert.ok(maxDiff(a, again) < 1e-6, "one tile, one picture");
    if (reg.manifest.models.generator.inputs)
      assert.ok(maxDiff(a, other) > 0.1, "a neighbouring tile with the same terrain and latent gets another picture");
    else assert.ok(maxDiff(a, other) < 1e-6, "a latent-only generator ignores the tile");
  } finally {
    await reg.close();
  }
});

test("a manifest naming a conditional generator without its noise seed is refused at start-up", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gv-models-"));
  const manifest = JSON.parse(await readFile(`${MODELS}manifest.json`, "utf8"));
  manifest.models.generator.inputs = { terrain: "terrain", latent: "latent", noise: "noise" };
  manifest.models.generator.noiseDim = 56;
  delete manifest.models.generator.noiseSeed;
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest));
  try {
    await assert.rejects(ModelRegistry.load(dir, { intraOpThreads: 1 }), /noiseSeed/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("a manifest whose classifier names a class the API does not know is refused at start-up", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gv-models-"));
  const manifest = JSON.parse(await readFile(`${MODELS}manifest.json`, "utf8"));
  try {
    const renamed = structuredClone(manifest);
    renamed.models.terrainClassifier.classes[3] = "lake";
    await writeFile(path.join(dir, "manifest.json"), JSON.stringify(renamed));
    await assert.rejects(ModelRegistry.load(dir, { intraOpThreads: 1 }), /terrainClassifier has classes the API does not know: lake/);
    const scene = structuredClone(manifest);
    scene.models.sceneClassifier.classes[0] = "woodland";
    await writeFile(path.join(dir, "manifest.json"), JSON.stringify(scene));
    await assert.rejects(ModelRegistry.load(dir, { intraOpThreads: 1 }), /sceneClassifier has classes the API does not know: woodland/);
    const twice = structuredClone(manifest);
    twice.models.terrainClassifier.classes[1] = twice.models.terrainClassifier.classes[0];
    await writeFile(path.join(dir, "manifest.json"), JSON.stringify(twice));
    await assert.rejects(ModelRegistry.load(dir, { intraOpThreads: 1 }), /names a class twice/);
  } finally {
    await rm(dir, { recursive: true });
  }
});
