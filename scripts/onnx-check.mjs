// Runs one ONNX model in onnxruntime-node on one CPU core (ONNX_CHECK_THREADS to change): checks a golden input/output
// pair and measures latency. Used by trainer/export.py; prints one JSON line.
// usage: node scripts/onnx-check.mjs <model.onnx> <golden.json> [runs]
import { readFileSync } from "node:fs";
import ort from "onnxruntime-node";

const [modelPath, goldenPath, runsArg] = process.argv.slice(2);
const golden = JSON.parse(readFileSync(goldenPath, "utf8"));
const decode = (b64) => {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
};
const threads = Number(process.env.ONNX_CHECK_THREADS ?? 1);
const session = await ort.InferenceSession.create(modelPath, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
});
// One input (`input`) or several (`inputs`, e.g. the conditional generator's terrain, latent and noise).
const inputs = golden.inputs ?? [golden.input];
const out = await session.run(Object.fromEntries(inputs.map((i) => [i.name, new ort.Tensor("float32", decode(i.data), i.shape)])));
let maxAbsDiff = 0;
for (const [name, spec] of Object.entries(golden.outputs)) {
  const want = decode(spec.data);
  const got = out[name].data;
  for (let i = 0; i < want.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(want[i] - got[i]));
}
const runs = Number(runsArg ?? 100);
const firstRow = (i) => new ort.Tensor("float32", decode(i.data).slice(0, i.shape.slice(1).reduce((a, b) => a * b, 1)), [1, ...i.shape.slice(1)]);
const single = Object.fromEntries(inputs.map((i) => [i.name, firstRow(i)]));
for (let i = 0; i < 10; i++) await session.run(single);
const times = [];
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint();
  await session.run(single);
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ maxAbsDiff, p50Ms: times[Math.floor(runs / 2)], p99Ms: times[Math.floor(runs * 0.99)] }));
