/**
 * Per-tile generator noise: standard-normal values determined by the tile and the model's
 * noise seed, so one tile always gets the same landscape, two tiles get different ones, and
 * a new model version draws anew. The same function as trainer/groundview/gan.py
 * `tile_noise` (FNV-1a of "seed/z/x/y" seeds mulberry32; Box-Muller makes normals); a golden
 * file written by the trainer tests keeps the two equal (test/tile-noise.test.ts).
 */
import type { TileKey } from "../tiles/tile-math.js";

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1) >>> 0;
    t = (t ^ ((t + Math.imul(t ^ (t >>> 7), t | 61)) >>> 0)) >>> 0;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function tileNoise(seed: string, k: TileKey, dim: number): Float32Array {
  const next = mulberry32(fnv1a32(`${seed}/${k.z}/${k.x}/${k.y}`));
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i += 2) {
    const u1 = 1 - next();
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < dim) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
