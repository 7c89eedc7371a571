/** The tile cache against a real loopback upstream, in both storage modes. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { App } from "../src/app.js";
import { squareRgb } from "../src/imaging/preprocess.js";
import { inspectTileImage, InvalidTileImage } from "../src/tiles/image-check.js";
import type { CachedTile } from "../src/tiles/tile-cache.js";
import { createTestDatabase, MODES, skipReason, type TestDatabase } from "./helpers/databases.js";
import { makeTile } from "./helpers/fixtures.js";
import { type FakeUpstream, serveBytes, sleep, startUpstream } from "./helpers/tile-server.js";
import { startTestApp } from "./helpers/app.js";

const get = (app: App, path: string, headers: Record<string, string> = {}) => fetch(`${app.url}${path}`, { headers });

for (const mode of MODES) {
  describe(`tile cache (${mode})`, { skip: skipReason(mode) }, () => {
    let db: TestDatabase;
    let up: FakeUpstream;
    let app: App;
    let png: Buffer;

    before(async () => {
      png = await makeTile("png");
      db = await createTestDatabase(mode);
      up = await startUpstream(serveBytes(png, "image/png", { delayMs: 50 }));
      app = await startTestApp(db, {
        TILE_SOURCE: up.template,
        UPSTREAM_TIMEOUT_MS: "400",
        UPSTREAM_RETRIES: "2",
      });
    });
    after(async () => {
      await app?.close();
      await up?.close();
      await db?.drop();
    });

    test("concurrent requests for one missing tile cause exactly one upstream fetch", async () => {
      const responses = await Promise.all(Array.from({ length: 25 }, () => get(app, "/tiles/satellite/10/1/1")));
      assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
      const bodies = await Promise.all(responses.map(async (r) => Buffer.from(await r.arrayBuffer())));
      assert.ok(bodies.every((b) => b.equals(png)));
      assert.equal(up.hits("/10/1/1.img"), 1);
    });

    test("a cached tile is served without asking upstream", async () => {
      const r = await get(app, "/tiles/satellite/10/1/1");
      assert.equal(r.status, 200);
      assert.equal(up.hits("/10/1/1.img"), 1);
    });

    test("upstream 500s are retried, then fail with TILE_UNAVAILABLE and nothing is cached", async () => {
      up.setBehaviour((_req, res) => {
        res.writeHead(500);
        res.end("boom");
      });
      const r = await get(app, "/tiles/satellite/10/2/2");
      assert.equal(r.status, 502);
      assert.equal(((await r.json()) as any).error.code, "TILE_UNAVAILABLE");
      assert.equal(up.hits("/10/2/2.img"), 3, "one attempt plus two retries");
      up.setBehaviour(serveBytes(png));
      const again = await get(app, "/tiles/satellite/10/2/2");
      assert.equal(again.status, 200, "the failure was not cached");
    });

    test("a transient 503 is recovered by a retry", async () => {
      up.setBehaviour((req, res, attempt) => {
        if (attempt === 1) {
          res.writeHead(503);
          res.end();
        } else serveBytes(png)(req, res, attempt);
      });
      const r = await get(app, "/tiles/satellite/10/3/3");
      assert.equal(r.status, 200);
      assert.equal(up.hits("/10/3/3.img"), 2);
    });

    test("a slow upstream times out into TILE_UNAVAILABLE", async () => {
      // 3 attempts of 400 ms plus back-off; the upstream would answer after 4 s.
      up.setBehaviour(serveBytes(png, "image/png", { delayMs: 4000 }));
      const t0 = Date.now();
      const r = await get(app, "/tiles/satellite/10/4/4");
      assert.equal(r.status, 502);
      assert.equal(((await r.json()) as any).error.code, "TILE_UNAVAILABLE");
      assert.ok(Date.now() - t0 < 3800, "gave up before the slow upstream answered");
    });

    test("garbage bodies are rejected and never cached", async () => {
      up.setBehaviour((_req, res) => {
        res.writeHead(200, { "content-type": "image/png" });
        res.end("<html>not a tile</html>");
      });
      const r = await get(app, "/tiles/satellite/10/5/5");
      assert.equal(r.status, 502);
      const body = (await r.json()) as any;
      assert.equal(body.error.code, "TILE_UNAVAILABLE");
      assert.match(body.error.message, /invalid image/);
      const row = await app.db.prisma.satelliteTile.findFirst({
        where: { z: 10, x: 5, y: 5 },
      });
      assert.equal(row, null);
    });

    test("a truncated image is rejected", async () => {
      const jpeg = await makeTile("jpeg");
      up.setBehaviour((_req, res) => {
        res.writeHead(200, { "content-type": "image/jpeg" });
        res.end(jpeg.subarray(0, Math.floor(jpeg.length / 2)));
      });
      const r = await get(app, "/tiles/satellite/10/5/6");
      assert.equal(r.status, 502);
    });

    test("oversized responses are rejected without being stored", async () => {
      up.setBehaviour((_req, res) => {
        res.writeHead(200, { "content-type": "image/png" });
        res.end(Buffer.concat([png, Buffer.alloc(3 * 1024 * 1024)]));
      });
      const r = await get(app, "/tiles/satellite/10/6/6");
      assert.equal(r.status, 502);
      assert.match(((await r.json()) as any).error.message, /over the .*limit/);
    });

    test("a fetched tile's validating decode is the models' input, handed to that fetch only", async () => {
      up.setBehaviour(serveBytes(png));
      const size = app.models!.analysis.models.manifest.models.terrainClassifier.input.size[0];
      const keys = [
        { z: 10, x: 9, y: 9 },
        { z: 10, x: 9, y: 10 },
      ];
      const fetched = await app.tileCache.getMany(keys);
      for (const k of keys) {
        const t = fetched.get(`${k.z}/${k.x}/${k.y}`) as CachedTile;
        assert.equal(t.preview?.size, size);
        assert.ok(Buffer.from(t.preview!.rgb).equals(await squareRgb(t.bytes, size)), "the same pixels a decode of the stored bytes gives");
      }
      const again = await app.tileCache.get(keys[0]);
      assert.equal(again.preview, undefined, "the memory cache keeps the bytes alone");
      const stored = await app.tileCache.getMany([keys[1]]);
      assert.equal((stored.get("10/9/10") as CachedTile).preview, undefined);
    });

    test("tiles outside coverage are negatively cached", async () => {
      up.setBehaviour((_req, res) => {
        res.writeHead(404);
        res.end();
      });
      const first = await get(app, "/tiles/satellite/10/7/7");
      assert.equal(first.status, 404);
      assert.equal(((await first.json()) as any).error.code, "TILE_NOT_FOUND");
      const second = await get(app, "/tiles/satellite/10/7/7");
      assert.equal(second.status, 404);
      assert.equal(up.hits("/10/7/7.img"), 1);
    });
    test("getMany: a batch of tiles in a few statements, missing tiles as TILE_NOT_FOUND, joined by a concurrent get()", async () => {
      up.setBehaviour((req, res, attempt) => {
        if (/\/11\/5\/\d+\.img/.test(req.url ?? "")) {
          res.writeHead(404);
          res.end();
        } else serveBytes(png, "image/png", { delayMs: 30 })(req, res, attempt);
      });
      const keys = [];
      for (let x = 4; x <= 5; x++) for (let y = 10; y < 14; y++) keys.push({ z: 11, x, y });
      const cache = app.tileCache;
      const [many, single] = await Promise.all([cache.getMany(keys), cache.get({ z: 11, x: 4, y: 12 }).catch((e: Error) => e)]);
      assert.equal(many.size, 8);
      for (const k of keys) {
        const r = many.get(`${k.z}/${k.x}/${k.y}`);
        if (k.x === 5) assert.equal((r as { code?: string }).code, "TILE_NOT_FOUND");
        else assert.ok(Buffer.from((r as { bytes: Uint8Array }).bytes).equals(png));
      }
      assert.ok(!(single instanceof Error) && Buffer.from(single.bytes).equals(png));
      for (const k of keys) assert.equal(up.hits(`/${k.z}/${k.x}/${k.y}.img`), 1, "each tile asked once");
      // All stored, leases released; a second batch asks upstream nothing.
      const rows = await app.db.prisma.satelliteTile.count({ where: { z: 11, x: { in: [4, 5] } } });
      assert.equal(rows, 8, "four images and four negative entries stored");
      const leases = await app.db.prisma.tileFetchLease.count();
      assert.equal(leases, 0, "every lease released");
      const again = await cache.getMany(keys);
      assert.equal(again.size, 8);
      for (const k of keys) assert.equal(up.hits(`/${k.z}/${k.x}/${k.y}.img`), 1);
    });
  });

  describe(`tile expiry and revalidation (${mode})`, { skip: skipReason(mode) }, () => {
    let db: TestDatabase;
    let up: FakeUpstream;
    let app: App;
    let png: Buffer;

    before(async () => {
      png = await makeTile("png", { r: 200, g: 10, b: 10 });
      db = await createTestDatabase(mode);
      up = await startUpstream(serveBytes(png, "image/png", { etag: '"abc"' }));
      app = await startTestApp(db, {
        TILE_SOURCE: up.template,
        TILE_TTL_SECONDS: "1",
        UPSTREAM_RETRIES: "0",
      });
    });
    after(async () => {
      await app?.close();
      await up?.close();
      await db?.drop();
    });

    test("an expired tile is revalidated with If-None-Match and a 304 keeps the bytes", async () => {
      assert.equal((await get(app, "/tiles/satellite/9/1/1")).status, 200);
      await sleep(1100);
      const r = await get(app, "/tiles/satellite/9/1/1");
      assert.equal(r.status, 200);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(png));
      const reval = up.log.filter((l) => l.path === "/9/1/1.img");
      assert.equal(reval.length, 2);
      assert.equal(reval[1].ifNoneMatch, '"abc"');
    });

    test("when upstream fails, an expired copy is served stale instead of an error", async () => {
      await sleep(1100);
      up.setBehaviour((_req, res) => {
        res.writeHead(500);
        res.end();
      });
      const r = await get(app, "/tiles/satellite/9/1/1");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("cache-control"), "public, max-age=60");
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(png));
    });
  });
}

describe("tile image check", () => {
  test("with a preview: one decode refuses truncated bodies and images over the pixel limit", async () => {
    const jpeg = await makeTile("jpeg");
    const ok = await inspectTileImage(jpeg, 1 << 24, 112);
    assert.equal(ok.mime, "image/jpeg");
    assert.ok(Buffer.from(ok.preview!.rgb).equals(await squareRgb(jpeg, 112)));
    for (const cut of [0.5, 0.95]) {
      await assert.rejects(inspectTileImage(jpeg.subarray(0, Math.floor(jpeg.length * cut)), 1 << 24, 112), InvalidTileImage);
    }
    await assert.rejects(inspectTileImage(jpeg, 100 * 100, 112), /over the pixel limit/);
    await assert.rejects(inspectTileImage(jpeg, 100 * 100), /over the pixel limit/);
    assert.equal((await inspectTileImage(jpeg, 1 << 24)).preview, undefined);
  });
});
