/** Every exported model reproduces its golden input/output pair in onnxruntime-node. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { before, describe, test } from "node:test";
import ort from "onnxruntime-node";
import { GroundTerrain, Terrain } from "../src/terrain/terrain.enum.js";

const MODELS = fileURLToPath(new URL("../../models/", import.meta.url));

interface GoldenInput {
  name: string;
  shape: number[];
  data: string;
}

/** One input (`input`) or several (`inputs`: the conditional generator's). */
interface Golden {
  input?: GoldenInput;
  inputs?: GoldenInput[];
  outputs: Record<string, { shape: number[]; data: string }>;
}

const decode = (b64: string) => {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};

describe("exported models", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let manifest: any;
  before(async () => {
    manifest = JSON.parse(await readFile(`${MODELS}manifest.json`, "utf8"));
  });

  test("manifest follows the export contract", () => {
    const m = manifest.models;
    assert.deepEqual(m.terrainClassifier.classes, Object.values(Terrain));
    assert.deepEqual(m.sceneClassifier.classes, Object.values(GroundTerrain));
    assert.equal(m.generator.latentDim, m.encoder.latentDim);
    assert.deepEqual(m.generator.size, [128, 128]);
    assert.ok(m.terrainClassifier.groundResolutionM > 0);
    assert.ok(typeof m.validation.rocAuc === "number" && typeof m.validation.threshold === "number");
    assert.ok(manifest.totalBytes <= 40e6, "all ONNX files together within 40 MB");
    const c = m.changeDetector;
    assert.ok(c, "the change detector (issue 14)");
    assert.deepEqual(c.input.size, m.terrainClassifier.input.size, "it reads tiles prepared as the terrain classifier's input");
    assert.ok(c.threshold > 0 && c.threshold < 1 && c.metrics.validationPairs.falseChangeShare <= c.metrics.maxFalseChangeShare);
  });

  test("the served int8 terrain classifier stays close to its float source (trainer/quantize_terrain.py)", async () => {
    const spec = manifest.models.terrainClassifier;
    assert.ok(spec.floatFile && spec.floatGolden, "the float model it was quantized from is kept");
    const q = spec.quantization;
    assert.ok(q.validation.top1Agreement >= 0.99 && q.validation.gridCellAgreement >= 0.98, "measured agreement on the validation split");
    assert.ok(q.validation.top1 >= q.validation.top1Other - 0.01, "top-1 within a point of the float model's");
    assert.ok(
      q.mosaics.int8.meanIoU >= 0.6 && q.mosaics.int8.meanIoU >= q.mosaics.float.meanIoU - 0.01,
      "terrain grid IoU through the service",
    );
    const session = await ort.InferenceSession.create(`${MODELS}${spec.file}`, { intraOpNumThreads: 1 });
    const golden: Golden = JSON.parse(await readFile(`${MODELS}${spec.floatGolden}`, "utf8"));
    const g = golden.input!;
    const out = await session.run({ [g.name]: new ort.Tensor("float32", decode(g.data), g.shape) });
    const graphOps = (await readFile(`${MODELS}${spec.file}`)).includes("QuantizeLinear");
    assert.ok(graphOps, "the file is a QDQ model");
    for (const oname of ["probabilities", "grid"]) {
      const want = decode(golden.outputs[oname].data);
      const got = out[oname].data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
      assert.ok(maxDiff < 0.15, `${oname}: int8 differs from the float model's golden output by ${maxDiff}`);
    }
  });

  for (const name of ["terrainClassifier", "sceneClassifier", "generator", "encoder", "changeDetector"]) {
    test(`${name}: onnxruntime-node reproduces the golden pair`, async () => {
      const spec = manifest.models[name];
      const golden: Golden = JSON.parse(await readFile(`${MODELS}${spec.golden}`, "utf8"));
      const session = await ort.InferenceSession.create(`${MODELS}${spec.file}`, { intraOpNumThreads: 1 });
      const inputs = golden.inputs ?? [golden.input!];
      assert.deepEqual(inputs.map((i) => i.name).sort(), [...session.inputNames].sort(), "the golden pair feeds every input");
      const out = await session.run(Object.fromEntries(inputs.map((i) => [i.name, new ort.Tensor("float32", decode(i.data), i.shape)])));
      for (const [oname, o] of Object.entries(golden.outputs)) {
        const want = decode(o.data);
        const got = out[oname].data as Float32Array;
        assert.deepEqual([...out[oname].dims], o.shape);
        let maxDiff = 0;
        for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
        assert.ok(maxDiff < 1e-3, `${name}.${oname} differs by ${maxDiff}`);
      }
      if (spec.outputs.probabilities) {
        const p = out[spec.outputs.probabilities].data as Float32Array;
        const k = spec.classes.length;
        for (let r = 0; r < p.length / k; r++) {
          const sum = p.subarray(r * k, (r + 1) * k).reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(sum - 1) < 1e-4, "softmax inside the graph");
        }
      }
    });
  }
});
