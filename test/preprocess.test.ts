/** Model inputs: decoding a tile once for two input sizes gives what decoding it per size gives. */
import assert from "node:assert/strict";
import { test } from "node:test";
import sharp from "sharp";
import { toBatch, toBatches } from "../src/imaging/preprocess.js";
import type { ImageInputSpec } from "../src/inference/manifest.js";

const spec = (size: number): ImageInputSpec => ({ name: "image", size: [size, size], mean: [0.37, 0.38, 0.34], std: [0.19, 0.17, 0.17] });

async function tile(seed: number, format: "png" | "jpeg"): Promise<Uint8Array> {
  const w = 256;
  const h = 240; // not square: the centre crop matters
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (Math.sin(i * 0.013 * seed) * 100 + ((i * seed) % 97) + 128) & 0xff;
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  return format === "png" ? img.png().toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

test("toBatches with two specs equals toBatch for each, image by image", async () => {
  const images = [await tile(3, "png"), await tile(7, "jpeg"), await tile(11, "png")];
  const specs = [spec(112), spec(96)];
  const [a, b] = await toBatches(images, specs);
  const wantA = await toBatch(images, specs[0]);
  const wantB = await toBatch(images, specs[1]);
  assert.equal(a.length, wantA.length);
  assert.equal(b.length, wantB.length);
  // One grey level is 1/255/std ~ 0.023 here; JPEG decoding may shrink on load in one path only.
  const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
  const meanDiff = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + Math.abs(v - y[i]), 0) / x.length;
  assert.ok(meanDiff(a, wantA) < 0.03 && meanDiff(b, wantB) < 0.03, `${meanDiff(a, wantA)} ${meanDiff(b, wantB)}`);
  assert.deepEqual(a.subarray(0, a.length / 3), wantA.subarray(0, a.length / 3), "a PNG tile gives the same pixels");
  assert.ok(maxDiff(b, wantB) < 0.1, String(maxDiff(b, wantB)));
});

test("toBatches with one spec is toBatch", async () => {
  const images = [await tile(5, "png")];
  const [only] = await toBatches(images, [spec(64)]);
  assert.deepEqual(only, await toBatch(images, spec(64)));
});
