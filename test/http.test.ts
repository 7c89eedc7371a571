/** The HTTP and GraphQL surface: ETag/304, validation codes, health, metrics, CSRF. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { App } from "../src/app.js";
import { createTestDatabase, type TestDatabase } from "./helpers/databases.js";
import { makeTile } from "./helpers/fixtures.js";
import { type FakeUpstream, serveBytes, startUpstream } from "./helpers/tile-server.js";
import { gql, startTestApp } from "./helpers/app.js";

describe("HTTP and GraphQL", () => {
  let db: TestDatabase;
  let up: FakeUpstream;
  let app: App;
  let jpeg: Buffer;

  before(async () => {
    jpeg = await makeTile("jpeg");
    db = await createTestDatabase("embedded");
    up = await startUpstream(serveBytes(jpeg, "image/jpeg"));
    app = await startTestApp(db, {
      TILE_SOURCE: up.template,
      TILE_MIN_ZOOM: "3",
      TILE_MAX_ZOOM: "18",
    });
  });
  after(async () => {
    await app?.close();
    await up?.close();
    await db?.drop();
  });

  test("GET a tile: bytes, content type from the bytes, strong ETag, Cache-Control", async () => {
    const r = await fetch(`${app.url}/tiles/satellite/12/654/1583`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "image/jpeg");
    assert.match(r.headers.get("etag") ?? "", /^"[0-9a-f]{64}"$/);
    assert.match(r.headers.get("cache-control") ?? "", /^public, max-age=\d+$/);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(jpeg));
  });

  test("If-None-Match with the ETag gives 304 with no body; another ETag gives 200", async () => {
    const etag = (await fetch(`${app.url}/tiles/satellite/12/654/1583`)).headers.get("etag") as string;
    const r = await fetch(`${app.url}/tiles/satellite/12/654/1583`, {
      headers: { "if-none-match": etag },
    });
    assert.equal(r.status, 304);
    assert.equal((await r.arrayBuffer()).byteLength, 0);
    const other = await fetch(`${app.url}/tiles/satellite/12/654/1583`, {
      headers: { "if-none-match": '"nope"' },
    });
    assert.equal(other.status, 200);
  });

  test("tile addresses outside the grid or the zoom range are 400 OUT_OF_RANGE", async () => {
    for (const [path, field] of [
      ["/tiles/satellite/12/4096/1", "x"],
      ["/tiles/satellite/12/1/4096", "y"],
      ["/tiles/satellite/19/1/1", "zoom"],
      ["/tiles/satellite/2/1/1", "zoom"],
    ]) {
      const r = await fetch(`${app.url}${path}`);
      assert.equal(r.status, 400, path);
      const body = (await r.json()) as any;
      assert.equal(body.error.code, "OUT_OF_RANGE");
      assert.equal(body.error.field, field);
    }
  });

  test("healthz is ready when the database is; unknown routes are 404 with a code", async () => {
    const h = await fetch(`${app.url}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: "ok" });
    const r = await fetch(`${app.url}/nope`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as any).error.code, "NOT_FOUND");
  });

  test("metrics expose cache hits/misses, upstream fetches and latencies", async () => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    assert.match(text, /groundview_tile_cache_lookups_total\{result="miss"\} \d+/);
    assert.match(text, /groundview_tile_cache_lookups_total\{result="memory_hit"\} \d+/);
    assert.match(text, /groundview_upstream_fetches_total\{source="xyz-[0-9a-f]+",outcome="ok"\} 1/);
    assert.match(text, /groundview_upstream_fetch_seconds_bucket/);
    assert.match(text, /groundview_http_request_duration_seconds_bucket\{le="0.001",route="tile",status="200"\}/);
  });

  test("GraphQL tile query: z/x/y, GeoJSON bounds, attribution, cached flag", async () => {
    const q = `query($lat: Float!, $lon: Float!, $zoom: Int) { tile(lat: $lat, lon: $lon, zoom: $zoom) { z x y bounds attribution cached url etag } }`;
    const cold = await gql(app, q, { lat: 47.02, lon: -99.15, zoom: 14 });
    assert.equal(cold.status, 200);
    const t = cold.body.data.tile;
    assert.deepEqual([t.z, t.x, t.y], [14, 3679, 5761]);
    assert.equal(t.bounds.type, "Polygon");
    const [[w, s], , [e, n]] = t.bounds.coordinates[0];
    assert.ok(w <= -99.15 && e >= -99.15 && s <= 47.02 && n >= 47.02, "bounds contain the point");
    assert.equal(t.cached, false);
    assert.equal(t.etag, null);
    assert.equal((await fetch(t.url)).status, 200);
    const warm = await gql(app, q, { lat: 47.02, lon: -99.15, zoom: 14 });
    assert.equal(warm.body.data.tile.cached, true);
    assert.match(warm.body.data.tile.etag, /^"[0-9a-f]{64}"$/);
  });

  test("GraphQL validation: each bad coordinate is an OUT_OF_RANGE error naming its field", async () => {
    const q = `query($lat: Float!, $lon: Float!, $zoom: Int) { tile(lat: $lat, lon: $lon, zoom: $zoom) { z } }`;
    for (const [vars, field] of [
      [{ lat: 85.06, lon: 0 }, "lat"],
      [{ lat: -90, lon: 0 }, "lat"],
      [{ lat: 0, lon: 180.5 }, "lon"],
      [{ lat: 0, lon: 0, zoom: 19 }, "zoom"],
      [{ lat: 0, lon: 0, zoom: 2 }, "zoom"],
    ] as const) {
      const r = await gql(app, q, vars);
      assert.equal(r.body.errors?.length, 1, JSON.stringify(vars));
      assert.equal(r.body.errors?.[0].extensions.code, "OUT_OF_RANGE", JSON.stringify(r.body));
      assert.equal(r.body.errors?.[0].extensions.field, field);
    }
    const edge = await gql(app, q, { lat: 85.0511, lon: 180, zoom: 3 });
    assert.equal(edge.body.errors, undefined, "the limits themselves are valid");
  });

  test("CSRF prevention: a simple cross-site-style request without a preflight header is refused", async () => {
    const r = await fetch(`${app.url}/graphql?query=${encodeURIComponent("{ tile(lat: 1, lon: 1) { z } }")}`);
    assert.equal(r.status, 400);
    const ok = await fetch(`${app.url}/graphql?query=${encodeURIComponent("{ tile(lat: 1, lon: 1) { z } }")}`, {
      headers: { "apollo-require-preflight": "true" },
    });
    assert.equal(ok.status, 200);
  });
});
