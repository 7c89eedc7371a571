// Runs the terrain classifier in onnxruntime-node on a list of images, preprocessed as the service
// does (src/imaging/preprocess.ts). Used by trainer/quantize_terrain.py, two modes:
//   calibrate: the model has extra outputs (activations); writes per output the min, max and
//              percentiles of the values seen (the int8 model's activation ranges)
//   evaluate:  writes per image the predicted class and probability, and for a second model the
//              agreement of the two (top-1 and grid cells)
//   golden:    runs MODEL on the input of a golden pair (models/golden/*.json) and writes the pair
//              with MODEL's outputs (what models.test.ts checks the runtime against)
// usage: node scripts/terrain-onnx-stats.mjs calibrate MODEL LIST.json OUT.json
//        node scripts/terrain-onnx-stats.mjs evaluate MODEL [OTHER_MODEL] LIST.json OUT.json
//        node scripts/terrain-onnx-stats.mjs golden MODEL GOLDEN.json OUT.json
// LIST.json: { "input": <manifest input spec>, "images": [{ "path": ..., "label": <int> }] }
// (requires `npm run build`)
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";
import { toBatch } from "../dist/src/imaging/preprocess.js";

const [mode, ...rest] = process.argv.slice(2);
if (!["calibrate", "evaluate", "golden"].includes(mode)) throw new Error("usage: terrain-onnx-stats.mjs calibrate|evaluate|golden …");
if (mode === "golden") {
  const [model, goldenPath, out] = rest;
  const golden = JSON.parse(readFileSync(goldenPath, "utf8"));
  const buf = Buffer.from(golden.input.data, "base64");
  const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: "all" });
  const res = await s.run({ [golden.input.name]: new ort.Tensor("float32", x, golden.input.shape) });
  const outputs = {};
  for (const name of Object.keys(golden.outputs)) {
    const t = res[name];
    outputs[name] = { shape: t.dims, data: Buffer.from(new Float32Array(t.data).buffer).toString("base64") };
  }
  writeFileSync(out, JSON.stringify({ input: golden.input, outputs }));
  process.exit(0);
}
const outPath = rest.pop();
const list = JSON.parse(readFileSync(rest.pop(), "utf8"));
const models = rest;
const threads = Number(process.env.ONNX_CHECK_THREADS ?? 2);
const open = (p) =>
  ort.InferenceSession.create(p, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" });
const sessions = await Promise.all(models.map(open));
const spec = list.input;
const BATCH = 16;

async function* batches() {
  for (let i = 0; i < list.images.length; i += BATCH) {
    const items = list.images.slice(i, i + BATCH);
    const data = await toBatch(
      items.map((it) => readFileSync(it.path)),
      spec,
    );
    yield { items, feeds: { [spec.name]: new ort.Tensor("float32", data, [items.length, 3, ...spec.size]) } };
  }
}

if (mode === "calibrate") {
  // Per output: global min/max and a reservoir of absolute values for the percentiles.
  const SAMPLE = 200_000;
  const stats = new Map();
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for await (const { feeds } of batches()) {
    const out = await sessions[0].run(feeds);
    for (const [name, t] of Object.entries(out)) {
      const d = t.data;
      let s = stats.get(name);
      if (!s) stats.set(name, (s = { min: Infinity, max: -Infinity, seen: 0, sample: [] }));
      for (let k = 0; k < d.length; k++) {
        const v = d[k];
        if (v < s.min) s.min = v;
        if (v > s.max) s.max = v;
        s.seen++;
        if (s.sample.length < SAMPLE) s.sample.push(v);
        else {
          const j = Math.floor(rand() * s.seen);
          if (j < SAMPLE) s.sample[j] = v;
        }
      }
    }
  }
  const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))];
  const result = {};
  for (const [name, s] of stats) {
    const sorted = Float64Array.from(s.sample).sort();
    result[name] = {
      min: s.min,
      max: s.max,
      p0001: pct(sorted, 0.0001),
      p001: pct(sorted, 0.001),
      p999: pct(sorted, 0.999),
      p9999: pct(sorted, 0.9999),
      values: s.seen,
    };
  }
  writeFileSync(outPath, JSON.stringify(result, null, 1));
} else {
  const rows = [];
  let agree = 0;
  let cells = 0;
  let cellsAgree = 0;
  let maxProbDiff = 0;
  let otherRight = 0;
  const argmaxRows = (d, n, k) => Array.from({ length: n }, (_, i) => {
    let b = 0;
    for (let c = 1; c < k; c++) if (d[i * k + c] > d[i * k + b]) b = c;
    return b;
  });
  for await (const { items, feeds } of batches()) {
    const outs = await Promise.all(sessions.map((s) => s.run(feeds)));
    const p0 = outs[0].probabilities.data;
    const k = p0.length / items.length;
    const pred = argmaxRows(p0, items.length, k);
    items.forEach((it, i) => rows.push({ path: it.path, label: it.label, pred: pred[i], p: p0[i * k + pred[i]] }));
    if (outs[1]) {
      const p1 = outs[1].probabilities.data;
      argmaxRows(p1, items.length, k).forEach((c, i) => {
        agree += c === pred[i] ? 1 : 0;
        if (items[i].label >= 0 && c === items[i].label) otherRight++;
      });
      for (let j = 0; j < p0.length; j++) maxProbDiff = Math.max(maxProbDiff, Math.abs(p0[j] - p1[j]));
      const g0 = outs[0].grid;
      const g1 = outs[1].grid;
      if (g0 && g1) {
        // grid: N × classes × cells × cells; a cell's class is its argmax over classes
        const [, gk, gh, gw] = g0.dims;
        const plane = gh * gw;
        for (let i = 0; i < items.length; i++)
          for (let p = 0; p < plane; p++) {
            let b0 = 0;
            let b1 = 0;
            for (let c = 1; c < gk; c++) {
              if (g0.data[(i * gk + c) * plane + p] > g0.data[(i * gk + b0) * plane + p]) b0 = c;
              if (g1.data[(i * gk + c) * plane + p] > g1.data[(i * gk + b1) * plane + p]) b1 = c;
            }
            cells++;
            if (b0 === b1) cellsAgree++;
          }
      }
    }
  }
  const labelled = rows.filter((r) => r.label >= 0);
  const top1 = labelled.filter((r) => r.pred === r.label).length / Math.max(1, labelled.length);
  const summary = { n: rows.length, top1, ...(models[1] ? { top1Other: otherRight / Math.max(1, labelled.length), top1Agreement: agree / rows.length, gridCellAgreement: cells ? cellsAgree / cells : null, maxProbDiff } : {}) };
  writeFileSync(outPath, JSON.stringify({ summary, rows }, null, 1));
  console.log(JSON.stringify(summary));
}
