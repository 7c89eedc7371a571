// Measures terrain maps through the running service: mean IoU over terrains between terrainFilter's
// polygons and the truth of mosaics written by trainer/make_mosaic_tiles.py (sampled at every 16 px
// cell centre). usage: npm run build && [MODELS_DIR=dir] node scripts/measure-terrain-grid.mjs OUT_DIR
import { readFileSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { booleanPointInPolygon } from "@turf/turf";
import { startApp } from "../dist/src/app.js";
import { loadSettings } from "../dist/src/config/settings.js";
import { tileBBox } from "../dist/src/tiles/tile-math.js";

const dir = process.argv[2];
const truth = JSON.parse(readFileSync(path.join(dir, "truth.json"), "utf8"));
const app = await startApp(
  loadSettings({
    PORT: "0",
    HOST: "127.0.0.1",
    GROUNDVIEW_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "gv-measure-")),
    TILE_SOURCE: path.join(dir, "tiles"),
    SAMPLE_AREA: "off",
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: "0",
    QUERY_MAX_COST: "100000000",
    // a candidate model set (e.g. a quantized classifier) instead of models/
    ...(process.env.MODELS_DIR ? { MODELS_DIR: process.env.MODELS_DIR } : {}),
  }),
);
const n = truth.classes.length;
const inter = new Array(n).fill(0);
const union = new Array(n).fill(0);
const Q = `query($bbox: BBoxInput!, $z: Int) { terrainFilter(bbox: $bbox, zoom: $z, terrain: [GRASS, FIELD, INDUSTRIAL, WATER, FOREST, RESIDENTIAL, PARKING], minConfidence: 0, first: 500) { totalCount edges { node { terrain geometry } } } }`;
for (const m of truth.mosaics) {
  const [w, , , n0] = tileBBox({ z: m.z, x: m.x0, y: m.y0 });
  const [, s, e] = tileBBox({ z: m.z, x: m.x0 + m.tiles - 1, y: m.y0 + m.tiles - 1 });
  const eps = 1e-7;
  const bbox = { west: w + eps, south: s + eps, east: e - eps, north: n0 - eps };
  const r = await fetch(`${app.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: Q, variables: { bbox, z: m.z } }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  const polys = body.data.terrainFilter.edges.map((x) => ({ c: truth.classes.indexOf(x.node.terrain.toLowerCase()), g: x.node.geometry }));
  const side = m.tiles * m.cells;
  for (let cy = 0; cy < side; cy++) {
    for (let cx = 0; cx < side; cx++) {
      // cell centre in lon/lat: a cell is a tile at z + 4
      const k = { z: m.z + 4, x: m.x0 * 16 + cx, y: m.y0 * 16 + cy };
      const [cw, cs, ce, cn] = tileBBox(k);
      const pt = [(cw + ce) / 2, (cs + cn) / 2];
      const hit = polys.find((p) => booleanPointInPolygon(pt, p.g));
      const pred = hit ? hit.c : -1;
      const t = m.terrain[cy][cx];
      for (let c = 0; c < n; c++) {
        const a = pred === c;
        const b = t === c;
        if (a && b) inter[c]++;
        if (a || b) union[c]++;
      }
    }
  }
}
const ious = inter.map((v, c) => (union[c] ? v / union[c] : NaN)).filter((v) => !Number.isNaN(v));
console.log(
  JSON.stringify({
    mosaics: truth.mosaics.length,
    meanIoU: Number((ious.reduce((a, b) => a + b, 0) / ious.length).toFixed(4)),
    perTerrain: Object.fromEntries(truth.classes.map((c, i) => [c, union[i] ? Number((inter[i] / union[i]).toFixed(4)) : null])),
  }),
);
await app.close();
