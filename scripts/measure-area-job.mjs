// Measures an area job end to end on the embedded database: prepareArea of an N x N box at
// zoom 17 from a local upstream (one textured 256 px JPEG for every tile, answered after
// DELAY_MS), then areaJob polled until it finishes; prints tiles/s. A second job of the same box
// shows the stored path. usage: npm run build && node scripts/measure-area-job.mjs [N=32] [DELAY_MS=0]
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { startApp } from "../dist/src/app.js";
import { loadSettings } from "../dist/src/config/settings.js";
import { tileBBox } from "../dist/src/tiles/tile-math.js";

const N = Number(process.argv[2] ?? 32);
const DELAY = Number(process.argv[3] ?? 0);
const raw = Buffer.alloc(256 * 256 * 3);
for (let i = 0; i < raw.length; i++) raw[i] = (Math.sin(i / 97) * 60 + 100 + ((i * 7919) % 41)) & 255;
const jpeg = await sharp(raw, { raw: { width: 256, height: 256, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
const up = createServer((req, res) =>
  setTimeout(() => {
    res.writeHead(200, { "content-type": "image/jpeg", "cache-control": "max-age=86400" });
    res.end(jpeg);
  }, DELAY),
);
await new Promise((r) => up.listen(0, "127.0.0.1", r));
const app = await startApp(
  loadSettings({
    PORT: "0",
    HOST: "127.0.0.1",
    GROUNDVIEW_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "gv-measure-")),
    TILE_SOURCE: `http://127.0.0.1:${up.address().port}/{z}/{x}/{y}.jpg`,
    SAMPLE_AREA: "off",
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: "0",
    AREA_JOB_POLL_SECONDS: "0.5",
    AREA_JOB_WORKERS: process.env.AREA_JOB_WORKERS ?? "2",
  }),
);
const gql = async (query, variables) => {
  const r = await fetch(`${app.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const b = await r.json();
  if (b.errors) throw new Error(JSON.stringify(b.errors));
  return b.data;
};
const [x0, y0] = [29428, 46088];
const [w, , , n] = tileBBox({ z: 17, x: x0, y: y0 });
const [, s, e] = tileBBox({ z: 17, x: x0 + N - 1, y: y0 + N - 1 });
const bbox = { west: w + 1e-7, south: s + 1e-7, east: e - 1e-7, north: n - 1e-7 };
for (const run of ["cold", "stored"]) {
  const t = performance.now();
  const { prepareArea: job } = await gql(`mutation($b: BBoxInput) { prepareArea(bbox: $b, zoom: 17) { id tilesTotal } }`, { b: bbox });
  let j;
  do {
    await new Promise((r) => setTimeout(r, 100));
    ({ areaJob: j } = await gql(`query($id: ID!) { areaJob(id: $id) { state tilesDone tilesComputed tilesTotal } }`, { id: job.id }));
  } while (j.state === "QUEUED" || j.state === "RUNNING");
  const sec = (performance.now() - t) / 1000;
  console.log(`${run}: ${j.state} ${j.tilesDone}/${j.tilesTotal} tiles (${j.tilesComputed} computed) in ${sec.toFixed(1)} s: ${(j.tilesTotal / sec).toFixed(0)} tiles/s`);
}
await app.close();
up.close();
