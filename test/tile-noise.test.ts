/**
 * Per-tile generator noise: the service draws what the trainer draws (the golden file is
 * written by trainer/tests/test_gan.py's function and checked there too), the same tile gets
 * the same noise and neighbouring tiles do not.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { tileNoise } from "../src/inference/tile-noise.js";

const GOLDEN = fileURLToPath(new URL("../../trainer/tests/golden/tile-noise.json", import.meta.url));

test("tile noise equals the trainer's for every golden tile and seed", async () => {
  const cases = JSON.parse(await readFile(GOLDEN, "utf8")) as { tile: [string, number, number, number]; noise: number[] }[];
  assert.ok(cases.length >= 5);
  for (const { tile, noise } of cases) {
    const [seed, z, x, y] = tile;
    const got = tileNoise(seed, { z, x, y }, noise.length);
    const worst = noise.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0);
    assert.ok(worst < 1e-6, `${tile.join("/")}: differs by ${worst}`);
  }
});

test("the same tile always gets the same noise; its neighbour and another seed get other noise", () => {
  const k = { z: 17, x: 29436, y: 46090 };
  const a = tileNoise("v1", k, 56);
  assert.deepEqual(a, tileNoise("v1", k, 56));
  for (const b of [tileNoise("v1", { ...k, x: k.x + 1 }, 56), tileNoise("v2", k, 56)]) {
    const diff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    assert.ok(diff > 0.5, `max difference ${diff}`);
  }
});
