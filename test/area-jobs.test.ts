/**
 * Area jobs (issue 13): prepareArea puts an area's tiles on the job queue (pg-boss on the
 * service's database), areaJob follows it; a job survives a kill of the service and finishes
 * after a restart; two processes on one PostgreSQL share a job's chunks without analysing any
 * tile twice (counted by the analysis metric).
 */
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { App } from "../src/app.js";
import { chunkTiles } from "../src/area-jobs/area-jobs.service.js";
import { chunkTaskId } from "../src/area-jobs/area-job.queue.js";
import { tileBoundsGeometry } from "../src/tiles/tile-math.js";
import { createTestDatabase, MODES, skipReason, type TestDatabase } from "./helpers/databases.js";
import { makeTile, makeTileDirectory } from "./helpers/fixtures.js";
import { serveBytes, sleep, startUpstream } from "./helpers/tile-server.js";
import { gql, startTestApp } from "./helpers/app.js";
import { startServiceProcess } from "./helpers/service-process.js";

const Z = 17;
const X0 = 29428;
const Y0 = 46088;
const corner = (x: number, y: number) => tileBoundsGeometry({ z: Z, x, y }).coordinates[0][3]; // north-west corner
/** The box of tiles [x0, x1) x [y0, y1), shrunk a hair so it does not touch the next ones. */
function boxOf(x0: number, y0: number, x1: number, y1: number) {
  const [west, north] = corner(x0, y0);
  const [east, south] = corner(x1, y1);
  const eps = 1e-7;
  return { west: west + eps, south: south + eps, east: east - eps, north: north - eps };
}

const PREPARE = `mutation($bbox: BBoxInput, $area: JSONObject) { prepareArea(bbox: $bbox, area: $area, zoom: ${Z}) {
  id state progress tilesTotal tilesDone zoom } }`;
const JOB = `query($id: ID!) { areaJob(id: $id) { id state progress tilesTotal tilesDone tilesWithoutImagery tilesComputed tilesFailed
  error createdAt startedAt finishedAt } }`;

/** The body of a GraphQL request to the service at `url`. */
const post = async (url: string, query: string, variables: Record<string, unknown> = {}) => (await gql({ url }, query, variables)).body;

/** Polls areaJob until `done(job)` (or throws after `ms`). */
async function waitForJob(url: string, id: string, done: (j: any) => boolean, ms = 60_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await post(url, JOB, { id });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    if (done(r.data.areaJob)) return r.data.areaJob;
    if (Date.now() > end) throw new Error(`area job ${id} not there after ${ms} ms: ${JSON.stringify(r.data.areaJob)}`);
    await sleep(100);
  }
}

const computed = async (app: App) => {
  const m = await app.metrics.analysisLookups.get();
  return m.values.filter((v) => v.labels.result === "computed").reduce((a, v) => a + v.value, 0);
};

test("chunks are compact blocks that cover every tile once; chunk task ids are stable", () => {
  const keys = [];
  for (let x = 0; x < 10; x++) for (let y = 0; y < 7; y++) keys.push({ z: 5, x, y });
  const chunks = chunkTiles(keys, 9);
  assert.equal(chunks.length, 8);
  const seen = new Set(chunks.flat().map((k) => `${k.x}/${k.y}`));
  assert.equal(seen.size, 70);
  assert.ok(chunks.slice(0, -1).every((c) => c.length === 9));
  const spread = (c: { x: number; y: number }[]) =>
    Math.max(...c.map((k) => k.x)) - Math.min(...c.map((k) => k.x)) + Math.max(...c.map((k) => k.y)) - Math.min(...c.map((k) => k.y));
  assert.ok(spread(chunks[0]) <= 6, `the first chunk spans ${spread(chunks[0])} tiles across, not a row of 9`);
  assert.equal(chunkTaskId("0b0e7bfc-3c1c-4c8e-9d55-3f2b0a1a4d10", 3), chunkTaskId("0b0e7bfc-3c1c-4c8e-9d55-3f2b0a1a4d10", 3));
  assert.notEqual(chunkTaskId("0b0e7bfc-3c1c-4c8e-9d55-3f2b0a1a4d10", 3), chunkTaskId("0b0e7bfc-3c1c-4c8e-9d55-3f2b0a1a4d10", 4));
  assert.match(chunkTaskId("x", 0), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

for (const mode of MODES) {
  describe(`area jobs (${mode})`, { skip: skipReason(mode) }, () => {
    let db: TestDatabase;
    let app: App;

    before(async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "gv-tiles-"));
      await makeTileDirectory(dir, Z, X0, Y0, 6);
      db = await createTestDatabase(mode);
      app = await startTestApp(db, {
        TILE_SOURCE: dir,
        AREA_JOB_CHUNK_TILES: "4",
        AREA_JOB_POLL_SECONDS: "0.5",
        AREA_JOB_MAX_TILES: "50",
        TERRAIN_FILTER_MAX_TILES: "9",
      });
      assert.ok(app.models, app.modelError);
    });
    after(async () => {
      await app?.close();
      await db?.drop();
    });

    test("prepareArea of a box over the terrainFilter limit runs in the background; afterwards the box is all stored", async () => {
      const bbox = boxOf(X0, Y0, X0 + 4, Y0 + 4);
      const p = await post(app.url, PREPARE, { bbox });
      assert.equal(p.errors, undefined, JSON.stringify(p.errors));
      const job = p.data.prepareArea;
      assert.equal(job.tilesTotal, 16);
      assert.ok(["QUEUED", "RUNNING", "COMPLETED"].includes(job.state));
      const done = await waitForJob(app.url, job.id, (j) => j.state !== "QUEUED" && j.state !== "RUNNING");
      assert.equal(done.state, "COMPLETED");
      assert.equal(done.progress, 1);
      assert.equal(done.tilesDone, 16);
      assert.equal(done.tilesComputed, 16);
      assert.equal(done.tilesFailed, 0);
      assert.equal(done.tilesWithoutImagery, 0);
      assert.ok(new Date(done.finishedAt) >= new Date(done.startedAt) && new Date(done.startedAt) >= new Date(done.createdAt));
      const [{ n }] = await app.db.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM tile_analysis WHERE z = ${Z} AND x BETWEEN ${X0} AND ${X0 + 3} AND y BETWEEN ${Y0} AND ${Y0 + 3}`;
      assert.equal(n, 16, "every tile's results stored");
      // A 3 x 3 part of it through terrainSummary (within its own limit) computes nothing now.
      const s = await gql(app, `query($bbox: BBoxInput) { terrainSummary(bbox: $bbox, zoom: ${Z}) { tilesAnalysed tilesComputed } }`, {
        bbox: boxOf(X0, Y0, X0 + 3, Y0 + 3),
      });
      assert.deepEqual(s.body.data.terrainSummary, { tilesAnalysed: 9, tilesComputed: 0 });
      // Preparing it again finds everything stored.
      const again = await post(app.url, PREPARE, { bbox });
      const redone = await waitForJob(app.url, again.data.prepareArea.id, (j) => j.state === "COMPLETED");
      assert.equal(redone.tilesComputed, 0);
      assert.equal(redone.tilesDone, 16);
    });

    test("a parcel's job holds only the tiles that touch it; tiles without imagery are counted, not failed", async () => {
      // A triangle over the 6 x 6 tiles of the source and 2 columns east of it (no imagery there).
      const [w, n] = corner(X0, Y0);
      const [e, s] = corner(X0 + 8, Y0 + 6);
      const eps = 1e-6;
      const area = {
        type: "Polygon",
        coordinates: [
          [
            [w + eps, n - eps],
            [e - eps, n - eps],
            [w + eps, s + eps],
            [w + eps, n - eps],
          ],
        ],
      };
      const p = await post(app.url, PREPARE, { area });
      assert.equal(p.errors, undefined, JSON.stringify(p.errors));
      const total = p.data.prepareArea.tilesTotal;
      assert.ok(total > 24 && total < 48, `${total} of the box's 48 tiles touch the triangle`);
      const done = await waitForJob(app.url, p.data.prepareArea.id, (j) => j.state === "COMPLETED" || j.state === "FAILED");
      assert.equal(done.state, "COMPLETED", JSON.stringify(done));
      assert.equal(done.tilesDone, total);
      assert.ok(done.tilesWithoutImagery >= 1, "the tiles east of the source");
    });

    test("bad requests get coded errors", async () => {
      const code = async (q: string, v: Record<string, unknown>) => (await post(app.url, q, v)).errors?.[0]?.extensions;
      let x = await code(PREPARE, { bbox: boxOf(X0, Y0, X0 + 8, Y0 + 8) });
      assert.deepEqual([x?.code, x?.limit, x?.tiles], ["AREA_TOO_LARGE", 50, 64]);
      x = await code(PREPARE, {});
      assert.equal(x?.code, "BAD_USER_INPUT");
      x = await code(PREPARE, {
        area: {
          type: "Polygon",
          coordinates: [
            [
              [0, 0],
              [1, 1],
              [0, 0],
            ],
          ],
        },
      });
      assert.deepEqual([x?.code, x?.problem], ["INVALID_GEOMETRY", "TOO_FEW_POSITIONS"]);
      x = await code(JOB, { id: "00000000-0000-4000-8000-000000000000" });
      assert.equal(x?.code, "AREA_JOB_NOT_FOUND");
      x = await code(JOB, { id: "not-a-uuid" });
      assert.equal(x?.code, "AREA_JOB_NOT_FOUND");
    });
  });
}

describe("area jobs: the pending-tile limit", () => {
  test("a job that would pass AREA_JOB_MAX_PENDING_TILES is refused with AREA_JOBS_BUSY", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "gv-tiles-"));
    await makeTileDirectory(dir, Z, X0, Y0, 4);
    const db = await createTestDatabase("embedded");
    // This process works no chunks (AREA_JOB_POLL_SECONDS=0): the first job stays pending.
    const app = await startTestApp(db, { TILE_SOURCE: dir, AREA_JOB_POLL_SECONDS: "0", AREA_JOB_MAX_PENDING_TILES: "20" });
    try {
      const first = await post(app.url, PREPARE, { bbox: boxOf(X0, Y0, X0 + 4, Y0 + 4) });
      assert.equal(first.data.prepareArea.state, "QUEUED");
      const second = await post(app.url, PREPARE, { bbox: boxOf(X0, Y0, X0 + 2, Y0 + 3) });
      const x = second.errors?.[0]?.extensions;
      assert.deepEqual([x?.code, x?.pendingTiles, x?.tiles, x?.limit], ["AREA_JOBS_BUSY", 16, 6, 20]);
      const small = await post(app.url, PREPARE, { bbox: boxOf(X0, Y0, X0 + 2, Y0 + 2) });
      assert.equal(small.errors, undefined, "4 more tiles fit");
    } finally {
      await app.close();
      await db.drop();
    }
  });
});

describe("area jobs survive a kill", () => {
  test("a job of a few hundred tiles, the service killed mid-job, finishes after a restart", async () => {
    const db = await createTestDatabase("embedded");
    // A slow upstream: the job takes a few seconds, so the kill lands in the middle of it.
    const up = await startUpstream(serveBytes(await makeTile("jpeg"), "image/jpeg", { delayMs: 40 }));
    const env = {
      PORT: "0",
      HOST: "127.0.0.1",
      GROUNDVIEW_DATA_DIR: db.dataDir,
      DATABASE_URL: "",
      TILE_SOURCE: up.template,
      SAMPLE_AREA: "off",
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: "0",
      AREA_JOB_CHUNK_TILES: "16",
      AREA_JOB_POLL_SECONDS: "0.5",
      AREA_JOB_CHUNK_TIMEOUT_SECONDS: "3",
    };
    try {
      const a = await startServiceProcess(env);
      const p = await post(a.url, PREPARE, { bbox: boxOf(X0, Y0, X0 + 16, Y0 + 16) });
      assert.equal(p.errors, undefined, JSON.stringify(p.errors));
      const id = p.data.prepareArea.id;
      assert.equal(p.data.prepareArea.tilesTotal, 256);
      const partway = await waitForJob(a.url, id, (j) => j.tilesDone >= 32);
      assert.ok(partway.tilesDone < 256, `killed before the end (${partway.tilesDone} done)`);
      await a.stop("SIGKILL");
      const b = await startServiceProcess(env);
      try {
        const done = await waitForJob(b.url, id, (j) => j.state === "COMPLETED" || j.state === "FAILED", 120_000);
        assert.equal(done.state, "COMPLETED", JSON.stringify(done));
        assert.equal(done.tilesDone, 256);
        assert.equal(done.tilesFailed, 0);
        const tiles = await post(b.url, `query($bbox: BBoxInput) { terrainSummary(bbox: $bbox, zoom: ${Z}) { tilesComputed } }`, {
          bbox: boxOf(X0, Y0, X0 + 4, Y0 + 4),
        });
        assert.equal(tiles.data.terrainSummary.tilesComputed, 0, "the job's results are stored");
      } finally {
        await b.stop();
      }
    } finally {
      await up.close();
      await db.drop();
    }
  });
});

describe("area jobs on two processes sharing one PostgreSQL", { skip: skipReason("server") }, () => {
  test("both work the job's chunks and no tile is analysed twice", async () => {
    const db = await createTestDatabase("server");
    const up = await startUpstream(serveBytes(await makeTile("jpeg"), "image/jpeg", { delayMs: 20 }));
    const env = { TILE_SOURCE: up.template, AREA_JOB_CHUNK_TILES: "8", AREA_JOB_POLL_SECONDS: "0.5" };
    const a = await startTestApp(db, env);
    const b = await startTestApp(db, env);
    try {
      const p = await post(a.url, PREPARE, { bbox: boxOf(X0, Y0, X0 + 12, Y0 + 12) });
      assert.equal(p.errors, undefined, JSON.stringify(p.errors));
      const done = await waitForJob(b.url, p.data.prepareArea.id, (j) => j.state === "COMPLETED" || j.state === "FAILED");
      assert.equal(done.state, "COMPLETED", JSON.stringify(done));
      assert.equal(done.tilesDone, 144);
      const [ca, cb] = [await computed(a), await computed(b)];
      assert.equal(ca + cb, 144, `each tile analysed once (${ca} + ${cb})`);
      const share = async (x: App) => (await x.metrics.areaJobTiles.get()).values.reduce((s, v) => s + v.value, 0);
      const [sa, sb] = [await share(a), await share(b)];
      assert.equal(sa + sb, 144);
      assert.ok(sa > 0 && sb > 0, `both processes worked chunks (${sa} and ${sb} tiles)`);
    } finally {
      await a.close();
      await b.close();
      await up.close();
      await db.drop();
    }
  });
});
