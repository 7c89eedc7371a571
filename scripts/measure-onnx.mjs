// Measures onnxruntime-node session options for the exported models, to choose
// ONNX_INTRA_OP_THREADS from numbers rather than guesses: per model, batch 1 and batch 16,
// intra-op threads 1 and 2, sequential execution, all graph optimisations; median of 50 runs.
// usage: node scripts/measure-onnx.mjs [models-dir]
import { readFileSync } from "node:fs";
import path from "node:path";
import ort from "onnxruntime-node";

const dir = process.argv[2] ?? "models";
const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
const terrainClasses = manifest.models.terrainClassifier.classes.length;
/** Input names and per-row shapes: images for the classifiers and the encoder; the generator
 * takes a latent, or (conditional) terrain probabilities, latent and per-tile noise. */
function inputsOf(name, spec) {
  if (name !== "generator") return [[spec.input.name, [3, ...spec.input.size]]];
  if (!spec.inputs) return [[spec.input.name, [spec.latentDim]]];
  return [
    [spec.inputs.terrain, [terrainClasses]],
    [spec.inputs.latent, [spec.latentDim]],
    [spec.inputs.noise, [spec.noiseDim]],
  ];
}
console.log("| model | batch | threads=1 ms | threads=2 ms |");
console.log("| --- | --- | --- | --- |");
for (const name of ["terrainClassifier", "encoder", "generator", "sceneClassifier"]) {
  const spec = manifest.models[name];
  for (const batch of [1, 16]) {
    const row = [];
    for (const threads of [1, 2]) {
      const s = await ort.InferenceSession.create(path.join(dir, spec.file), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
      const feeds = {};
      for (const [inputName, shape] of inputsOf(name, spec)) {
        const dims = [batch, ...shape];
        const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.random() * 2 - 1);
        feeds[inputName] = new ort.Tensor("float32", data, dims);
      }
      for (let i = 0; i < 5; i++) await s.run(feeds);
      const t = [];
      for (let i = 0; i < 50; i++) {
        const t0 = process.hrtime.bigint();
        await s.run(feeds);
        t.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      t.sort((a, b) => a - b);
      row.push(t[25].toFixed(2));
      await s.release();
    }
    console.log(`| ${name} | ${batch} | ${row[0]} | ${row[1]} |`);
  }
}
