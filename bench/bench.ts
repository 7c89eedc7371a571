/**
 * npm run bench — Groundview's benchmark, all targets in one run on one machine:
 *   floor (a bare Node handler serving the same tile bytes), cached tile GET, cached GraphQL
 *   tile query, cached `landscape`, `landscape` with the tile cached but the models run,
 *   `terrainFilter` over a 5x5 km box cold and warm, `validatePhoto` with a 1-megapixel JPEG,
 *   and the peer to beat: the study project's PyTorch-eager encoder+generator, per request.
 * Each target is loaded from a separate process (bench/load.ts); rounds give min/median/max.
 * Results of the last run are written to bench/RESULTS.md.
 */
import "reflect-metadata";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { startApp } from "../src/app.js";
import { loadSettings } from "../src/config/settings.js";
import { tileBoundsGeometry, tileForPoint } from "../src/tiles/tile-math.js";
import type { Load, Spec } from "./load-spec.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LOAD = fileURLToPath(new URL("./load.js", import.meta.url));
const work = await mkdtemp(path.join(os.tmpdir(), "gv-bench-"));
const lines: string[] = [];
const say = (s: string) => {
  console.log(s);
  lines.push(s);
};

let specN = 0;
async function load(spec: Spec): Promise<Load> {
  const file = path.join(work, `spec-${specN++}.json`);
  await writeFile(file, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, file], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`load exited ${code}`))));
  });
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
const fmt = (s: { min: number; median: number; max: number }, d: number) =>
  `${s.min.toFixed(d)}/${s.median.toFixed(d)}/${s.max.toFixed(d)}`;

async function measure(name: string, rounds: number, run: (round: number) => Promise<Load>) {
  const rs: Load[] = [];
  for (let i = 0; i < rounds; i++) rs.push(await run(i));
  const r = {
    rps: stats(rs.map((x) => x.rps)),
    p50: stats(rs.map((x) => x.p50Ms)),
    p99: stats(rs.map((x) => x.p99Ms)),
    errors: rs.reduce((a, x) => a + x.errors, 0),
  };
  say(`| ${name} | ${fmt(r.rps, 1)} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} | ${r.errors} |`);
  if (r.errors) say(`|   first error: ${rs.find((x) => x.firstError)?.firstError} | | | | |`);
  return r;
}

// --- imagery: a grid of textured tiles at z17 near 47.0N 99.2W, served from a directory
const Z = 17;
const origin = tileForPoint(47.03, -99.3, Z);
const GRID = 60;
const tilesDir = path.join(work, "tiles");
async function tileImage(x: number, y: number): Promise<Buffer> {
  const hue = (x * 37 + y * 91) % 360;
  const svg = `<svg width="256" height="256" xmlns="http://www.w3.org/2000/svg"><rect width="256" height="256" fill="hsl(${hue},40%,38%)"/>
    ${Array.from({ length: 8 }, (_, i) => `<circle cx="${(i * 53 + x) % 256}" cy="${(i * 97 + y) % 256}" r="${12 + ((i * 7) % 28)}" fill="hsl(${(hue + i * 25) % 360},35%,${28 + i * 4}%)"/>`).join("")}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}
for (let dx = 0; dx < GRID; dx++) {
  await mkdir(path.join(tilesDir, String(Z), String(origin.x + dx)), { recursive: true });
  await Promise.all(
    Array.from({ length: GRID }, async (_, dy) =>
      writeFile(
        path.join(tilesDir, String(Z), String(origin.x + dx), `${origin.y + dy}.jpg`),
        await tileImage(origin.x + dx, origin.y + dy),
      ),
    ),
  );
}
const tileBytes = await tileImage(origin.x, origin.y);
const centreOf = (x: number, y: number) => {
  const b = tileBoundsGeometry({ z: Z, x, y }).coordinates[0];
  return { lat: (b[0][1] + b[2][1]) / 2, lon: (b[0][0] + b[1][0]) / 2 };
};

// --- the floor: a bare handler sending the same bytes with the same kind of headers
const floor = createServer((_req, res) => {
  res.writeHead(200, {
    "content-type": "image/jpeg",
    "content-length": tileBytes.length,
    etag: '"floor"',
    "cache-control": "public, max-age=3600",
  });
  res.end(tileBytes);
});
await new Promise<void>((r) => floor.listen(0, "127.0.0.1", r));
const floorOrigin = `http://127.0.0.1:${(floor.address() as AddressInfo).port}`;

const dataDir = path.join(work, "data");
const app = await startApp(
  loadSettings({
    PORT: "0",
    HOST: "127.0.0.1",
    GROUNDVIEW_DATA_DIR: dataDir,
    TILE_SOURCE: tilesDir,
    TERRAIN_FILTER_MAX_TILES: "1024",
    // The throughput targets measure the service, not its limits: no anonymous rate limit and no
    // per-request cost cap here. The fairness target below uses API keys, whose quotas apply.
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: "0",
    QUERY_MAX_COST: "100000000",
    ...(process.env.ONNX_INTRA_OP_THREADS ? { ONNX_INTRA_OP_THREADS: process.env.ONNX_INTRA_OP_THREADS } : {}),
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  }),
);
if (!app.models) throw new Error(app.modelError);
const gqlReq = (query: string, variables: Record<string, unknown> = {}) => ({
  path: "/graphql",
  body: JSON.stringify({ query, variables }),
});
const gqlSpec = (requests: Spec["requests"], connections: number, extra: Partial<Spec> = {}): Spec => ({
  origin: app.url,
  connections,
  seconds: SECONDS,
  method: "POST",
  headers: { "content-type": "application/json" },
  requests,
  ...extra,
});
const tilePath = `/tiles/satellite/${Z}/${origin.x}/${origin.y}`;
await fetch(`${app.url}${tilePath}`);

say(`# groundview bench — ${new Date().toISOString()}`);
say(
  `${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}, ${app.db.kind} database, models ${app.models.analysis.models.version}, ONNX intra-op threads ${process.env.ONNX_INTRA_OP_THREADS || 2}`,
);
say(`${ROUNDS} rounds x ${SECONDS} s per target unless noted; min/median/max over rounds\n`);
say("| target | req/s | p50 ms | p99 ms | errors |");
say("| --- | --- | --- | --- | --- |");

const floorRes = await measure("floor: bare Node handler (10 conn)", ROUNDS, () =>
  load({ origin: floorOrigin, connections: 10, seconds: SECONDS, requests: [{ path: tilePath }] }),
);
const tileRes = await measure("cached tile GET (10 conn)", ROUNDS, () =>
  load({ origin: app.url, connections: 10, seconds: SECONDS, requests: [{ path: tilePath }] }),
);
const p0 = centreOf(origin.x, origin.y);
await measure("cached GraphQL tile query (10 conn)", ROUNDS, () =>
  load(gqlSpec([gqlReq(`{ tile(lat: ${p0.lat}, lon: ${p0.lon}, zoom: ${Z}) { z x y cached etag bounds } }`)], 10)),
);
const LANDSCAPE = `query($lat: Float!, $lon: Float!) { landscape(lat: $lat, lon: $lon, zoom: ${Z}) { dominantTerrain terrain { terrain probability } latent image { url } modelVersion cached tile { z x y bounds } } }`;
await fetch(`${app.url}/graphql`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ query: LANDSCAPE, variables: p0 }),
});
const cachedLandscape = await measure("landscape, cached (1 conn)", ROUNDS, () => load(gqlSpec([gqlReq(LANDSCAPE, p0)], 1)));
await measure("landscape, cached (10 conn)", ROUNDS, () => load(gqlSpec([gqlReq(LANDSCAPE, p0)], 10)));

// Uncached landscapes: each request a different tile whose imagery is cached but whose models have not run.
const fresh: { x: number; y: number }[] = [];
for (let dy = 40; dy < GRID; dy++) for (let dx = 0; dx < GRID; dx++) fresh.push({ x: origin.x + dx, y: origin.y + dy });
await Promise.all(fresh.map((t) => fetch(`${app.url}/tiles/satellite/${Z}/${t.x}/${t.y}`).then((r) => r.arrayBuffer())));
let cursor = 0;
const take = (n: number) => fresh.slice(cursor, (cursor += n));
const modelsRun1 = await measure("landscape, models run (1 conn)", ROUNDS, () => {
  const batch = take(120);
  return load(
    gqlSpec(
      batch.map((t) => gqlReq(LANDSCAPE, centreOf(t.x, t.y))),
      1,
      { maxRequests: batch.length },
    ),
  );
});
const modelsRun = await measure("landscape, models run (2 conn)", ROUNDS, () => {
  const batch = take(120);
  return load(
    gqlSpec(
      batch.map((t) => gqlReq(LANDSCAPE, centreOf(t.x, t.y))),
      2,
      { maxRequests: batch.length },
    ),
  );
});

// The peer: PyTorch eager per request, the same weights, reading the same cached tiles.
const peer: ChildProcess = spawn(
  "/usr/bin/python3",
  [path.join(ROOT, "trainer/serve_eager.py"), "--models", path.join(ROOT, "models"), "--tiles", `${app.url}/tiles/satellite`],
  {
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const peerPort = await new Promise<number>((resolve, reject) => {
  let out = "";
  peer.stdout?.on("data", (d) => {
    out += d;
    const m = /listening (\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
  peer.on("exit", (c) => reject(new Error(`peer exited ${c}`)));
});
const peerRes = await measure("peer: PyTorch eager, per request (2 conn)", ROUNDS, () => {
  const batch = take(60);
  return load({
    origin: `http://127.0.0.1:${peerPort}`,
    connections: 2,
    seconds: SECONDS,
    maxRequests: batch.length,
    requests: batch.map((t) => ({ path: `/landscape?z=${Z}&x=${t.x}&y=${t.y}` })),
  });
});
peer.kill();

// terrainFilter over 5x5 km boxes: cold (nothing analysed yet; one request per box) and warm.
const FILTER = `query($bbox: BBoxInput!) { terrainFilter(bbox: $bbox, terrain: [FOREST, WATER, FIELD], zoom: ${Z}, minConfidence: 0.3) { totalCount tilesAnalysed tilesComputed featureCollection } }`;
const box = (i: number) => {
  const nw = tileBoundsGeometry({ z: Z, x: origin.x + (i % 2) * 26, y: origin.y + 0 }).coordinates[0];
  const west = nw[0][0] + 1e-6;
  const north = nw[2][1] - 1e-6;
  const dLat = 5000 / 111320;
  const dLon = 5000 / (111320 * Math.cos((north * Math.PI) / 180));
  return { west, north, east: west + dLon, south: north - dLat };
};
const coldRes = await measure("terrainFilter 5x5 km, cold (1 request per box)", 2, (i) =>
  load(gqlSpec([gqlReq(FILTER, { bbox: box(i) })], 1, { maxRequests: 1, seconds: 300 })),
);
const warmRes = await measure("terrainFilter 5x5 km, warm (1 conn)", ROUNDS, () => load(gqlSpec([gqlReq(FILTER, { bbox: box(0) })], 1)));

// validatePhoto with a 1-megapixel JPEG (multipart, one file).
const photo = await sharp({
  create: { width: 1155, height: 866, channels: 3, background: "#5a8f3c", noise: { type: "gaussian", mean: 110, sigma: 30 } },
})
  .composite([
    {
      input: Buffer.from(
        `<svg width="1155" height="866"><rect width="1155" height="400" fill="#9cc3ea"/><circle cx="400" cy="500" r="180" fill="#2f5d26"/></svg>`,
      ),
    },
  ])
  .jpeg({ quality: 88 })
  .toBuffer();
const boundary = "groundviewbench";
const ops = JSON.stringify({
  query: `mutation($p: Upload!) { validatePhoto(photo: $p, lat: ${p0.lat}, lon: ${p0.lon}, zoom: ${Z}) { score verdict } }`,
  variables: { p: null },
});
const multipart = Buffer.concat([
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${ops}\r\n`),
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.p"]}\r\n`),
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
  photo,
  Buffer.from(`\r\n--${boundary}--\r\n`),
]);
const photoRes = await measure(`validatePhoto, 1 MP JPEG of ${(photo.length / 1024).toFixed(0)} KiB (1 conn)`, ROUNDS, () =>
  load({
    origin: app.url,
    connections: 1,
    seconds: SECONDS,
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "apollo-require-preflight": "true" },
    requests: [{ path: "/graphql", bodyBase64: multipart.toString("base64") }],
  }),
);

// Fairness: one keyed client floods uncached 4x4-tile terrainFilters (each just under the default
// QUERY_MAX_COST) with 4 connections, at its quota; another keyed client reads a cached landscape.
const FLOOD_SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 20);
const floodQuota = 60_000; // RATE_LIMIT_KEY_PER_MINUTE's default
const flood = await app.apiKeys.create("bench flood", floodQuota);
// The reader is the well-behaved client: its quota must not be what limits it (cached answers
// now take well under a millisecond, so 40 s of them exceed the default key's minute).
const victim = await app.apiKeys.create("bench victim", 100_000_000);
const floodBoxes: Record<string, number>[] = [];
const floodOrigins: [number, number][] = [];
for (let y = 24; y + 4 <= 40; y += 4) for (let x = 0; x + 4 <= GRID; x += 4) floodOrigins.push([x, y]);
for (let y = 0; y + 4 <= 24; y += 4) for (let x = 52; x + 4 <= GRID; x += 4) floodOrigins.push([x, y]); // beside the 5x5 km boxes
for (const [x, y] of floodOrigins) {
  const nw = tileBoundsGeometry({ z: Z, x: origin.x + x, y: origin.y + y }).coordinates[0];
  const se = tileBoundsGeometry({ z: Z, x: origin.x + x + 3, y: origin.y + y + 3 }).coordinates[0];
  floodBoxes.push({ west: nw[0][0] + 1e-7, north: nw[2][1] - 1e-7, east: se[1][0] - 1e-7, south: se[0][1] + 1e-7 });
}
const FLOOD = `query($bbox: BBoxInput!) { terrainFilter(bbox: $bbox, terrain: [FOREST, WATER, FIELD], zoom: ${Z}) { totalCount tilesComputed } }`;
const victimSpec = (seconds: number) =>
  gqlSpec([gqlReq(LANDSCAPE, p0)], 1, { seconds, headers: { "content-type": "application/json", "x-api-key": victim.key } });
const unloaded = await measure("fairness: cached landscape, other client idle (1 conn)", 1, () => load(victimSpec(FLOOD_SECONDS)));
let floodLoad: Load | undefined;
const loaded = await measure("fairness: cached landscape while a client floods terrainFilter (1 conn)", 1, async () => {
  const [v, f] = await Promise.all([
    load(victimSpec(FLOOD_SECONDS)),
    load(
      gqlSpec(
        floodBoxes.map((b) => gqlReq(FLOOD, { bbox: b })),
        4,
        { seconds: FLOOD_SECONDS, headers: { "content-type": "application/json", "x-api-key": flood.key } },
      ),
    ),
  ]);
  floodLoad = f;
  return v;
});
say(
  `| fairness: the flooding client (4 conn, key quota ${floodQuota}/min) | ${floodLoad!.rps.toFixed(1)} | ${floodLoad!.p50Ms.toFixed(3)} | ${floodLoad!.p99Ms.toFixed(3)} | ${floodLoad!.errors} refused of ${floodLoad!.requests} |`,
);

const ratio = tileRes.rps.median / floorRes.rps.median;
say("\n| target | goal | measured (median) |");
say("| --- | --- | --- |");
say(`| cached tile GET p50 | < 2 ms | ${tileRes.p50.median.toFixed(3)} ms |`);
say(`| cached tile GET vs floor req/s | >= 70% | ${(ratio * 100).toFixed(0)}% |`);
say(`| cached landscape p50 | <= 3 ms | ${cachedLandscape.p50.median.toFixed(3)} ms |`);
say(`| models-run landscape p50 (1 conn) | <= 25 ms | ${modelsRun1.p50.median.toFixed(3)} ms |`);
say(`| warm terrainFilter 5x5 km p50 | <= 50 ms | ${warmRes.p50.median.toFixed(3)} ms |`);
say(`| validatePhoto 1 MP p50 | <= 60 ms | ${photoRes.p50.median.toFixed(3)} ms |`);
say(`| uncached landscape throughput vs PyTorch-eager peer | >= 5x | ${(modelsRun.rps.median / peerRes.rps.median).toFixed(1)}x |`);
say(`| cold terrainFilter 5x5 km | <= 2000 ms | ${coldRes.p50.median.toFixed(0)} ms |`);
say(
  `| cached landscape p99 while another client floods uncached terrainFilter (its quota: flood row) | <= 3x unloaded | ${loaded.p99.median.toFixed(3)} ms vs ${unloaded.p99.median.toFixed(3)} ms (${(loaded.p99.median / unloaded.p99.median).toFixed(2)}x) |`,
);

await writeFile(path.join(ROOT, "bench", "RESULTS.md"), lines.join("\n") + "\n");
await app.close();
await new Promise((r) => floor.close(r));
await rm(work, { recursive: true, force: true });
