/**
 * npm run bench: the cached tile GET and the cached GraphQL tile query, next to a plain Node
 * HTTP handler serving the same bytes (the floor), in the same run. Each target is loaded by
 * a separate process (bench/load.ts) for BENCH_SECONDS with BENCH_CONNECTIONS keep-alive
 * connections, BENCH_ROUNDS times; min/median/max of the rounds are printed.
 *
 * Last results (2-core CI-class machine, Node 20, embedded database, 10 connections, 3 x 4 s):
 *   see the closing note of the issue that introduced it and the README's Benchmarks section.
 */
import "reflect-metadata";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { startApp } from "../src/app.js";
import { loadSettings } from "../src/config/settings.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LOAD = fileURLToPath(new URL("./load.js", import.meta.url));

interface Load {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  requests: number;
}

function load(url: string, method = "GET", body?: string, headers?: Record<string, string>): Promise<Load> {
  return new Promise((resolve, reject) => {
    const args = [LOAD, url, String(CONNECTIONS), String(SECONDS), method, body ?? "", JSON.stringify(headers ?? {})];
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`load exited ${code}`))));
  });
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    min: s[0],
    median: s[Math.floor(s.length / 2)],
    max: s[s.length - 1],
  };
};

async function measure(name: string, run: () => Promise<Load>) {
  const rounds: Load[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await run());
  const rps = stats(rounds.map((r) => r.rps));
  const p50 = stats(rounds.map((r) => r.p50Ms));
  const p99 = stats(rounds.map((r) => r.p99Ms));
  const errors = rounds.reduce((a, r) => a + r.errors, 0);
  console.log(
    `${name.padEnd(28)} req/s min/med/max ${rps.min.toFixed(0)}/${rps.median.toFixed(0)}/${rps.max.toFixed(0)}` +
      `  p50 ms ${p50.min.toFixed(3)}/${p50.median.toFixed(3)}/${p50.max.toFixed(3)}` +
      `  p99 ms ${p99.min.toFixed(3)}/${p99.median.toFixed(3)}/${p99.max.toFixed(3)}  errors ${errors}`,
  );
  return { rps, p50, p99, errors };
}

const tile = await sharp({
  create: {
    width: 256,
    height: 256,
    channels: 3,
    background: { r: 40, g: 110, b: 50 },
  },
})
  .composite([
    {
      input: Buffer.from(`<svg width="256" height="256"><circle cx="128" cy="128" r="90" fill="#8a7"/></svg>`),
    },
  ])
  .jpeg({ quality: 85 })
  .toBuffer();
const upstream = createServer((_req, res) => {
  res.writeHead(200, {
    "content-type": "image/jpeg",
    "content-length": tile.length,
  });
  res.end(tile);
});
await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
// The floor: a bare handler sending the same bytes with the same kind of headers.
const floor = createServer((_req, res) => {
  res.writeHead(200, {
    "content-type": "image/jpeg",
    "content-length": tile.length,
    etag: '"floor"',
    "cache-control": "public, max-age=3600",
  });
  res.end(tile);
});
await new Promise<void>((r) => floor.listen(0, "127.0.0.1", r));
const floorUrl = `http://127.0.0.1:${(floor.address() as AddressInfo).port}/tiles/satellite/14/3679/5761`;

const dataDir = await mkdtemp(path.join(os.tmpdir(), "gv-bench-"));
const app = await startApp(
  loadSettings({
    PORT: "0",
    HOST: "127.0.0.1",
    GROUNDVIEW_DATA_DIR: dataDir,
    TILE_SOURCE: `${upstreamUrl}/{z}/{x}/{y}.jpg`,
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  }),
);
const tileUrl = `${app.url}/tiles/satellite/14/3679/5761`;
if ((await fetch(tileUrl)).status !== 200) throw new Error("could not warm the tile");
const gqlBody = JSON.stringify({
  query: "{ tile(lat: 47.02, lon: -99.15, zoom: 14) { z x y cached etag bounds } }",
});
const gqlWarm = (await (
  await fetch(`${app.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: gqlBody,
  })
).json()) as any;
if (!gqlWarm.data?.tile?.cached) throw new Error(`GraphQL warm-up failed: ${JSON.stringify(gqlWarm)}`);

console.log(`groundview bench — ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}, ${app.db.kind} database`);
console.log(`${CONNECTIONS} keep-alive connections, ${ROUNDS} rounds x ${SECONDS} s each; min/median/max over rounds\n`);
const floorRes = await measure("floor (plain node handler)", () => load(floorUrl));
const tileRes = await measure("cached tile GET", () => load(tileUrl));
const gqlRes = await measure("cached GraphQL tile query", () =>
  load(`${app.url}/graphql`, "POST", gqlBody, {
    "content-type": "application/json",
  }),
);
const ratio = tileRes.rps.median / floorRes.rps.median;
console.log(
  `\ncached tile GET: p50 ${tileRes.p50.median.toFixed(3)} ms (target < 2 ms), ${(ratio * 100).toFixed(0)}% of the floor's req/s (target >= 70%)`,
);
console.log(`GraphQL tile query p50 ${gqlRes.p50.median.toFixed(3)} ms`);

await app.close();
await new Promise((r) => upstream.close(r));
await new Promise((r) => floor.close(r));
await rm(dataDir, { recursive: true, force: true });
