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
      CORS_ORIGINS: "http://maps.example.com, https://app.example.org:8443",
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

  test("CORS: tiles and TileJSON may be read from any origin; their preflight is answered", async () => {
    const r = await fetch(`${app.url}/tiles/satellite/12/654/1583`, { headers: { origin: "http://example.com" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), "*");
    assert.match(r.headers.get("access-control-expose-headers") ?? "", /ETag/);
    const missing = await fetch(`${app.url}/landscapes/nope/1/1/1.png`, { headers: { origin: "http://example.com" } });
    assert.equal(missing.headers.get("access-control-allow-origin"), "*", "errors are readable cross-origin too");
    const pre = await fetch(`${app.url}/tiles/satellite/12/654/1583`, {
      method: "OPTIONS",
      headers: { origin: "http://example.com", "access-control-request-method": "GET" },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /GET/);
  });

  test("CORS: /graphql answers preflights from CORS_ORIGINS, refuses others, and CSRF prevention stays on", async () => {
    const preflight = (origin: string) =>
      fetch(`${app.url}/graphql`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
    for (const origin of ["http://maps.example.com", "https://app.example.org:8443"]) {
      const ok = await preflight(origin);
      assert.equal(ok.status, 204, origin);
      assert.equal(ok.headers.get("access-control-allow-origin"), origin);
      assert.match(ok.headers.get("access-control-allow-methods") ?? "", /POST/);
      assert.match(ok.headers.get("access-control-allow-headers") ?? "", /content-type/);
      assert.match(ok.headers.get("vary") ?? "", /Origin/);
    }
    const bad = await preflight("http://evil.example.net");
    assert.equal(bad.status, 403);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, "ORIGIN_NOT_ALLOWED");
    assert.equal(bad.headers.get("access-control-allow-origin"), null);
    const post = await fetch(`${app.url}/graphql`, {
      method: "POST",
      headers: { origin: "http://maps.example.com", "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    assert.equal(post.status, 200);
    assert.equal(post.headers.get("access-control-allow-origin"), "http://maps.example.com");
    const other = await fetch(`${app.url}/graphql`, {
      method: "POST",
      headers: { origin: "http://evil.example.net", "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    assert.equal(other.headers.get("access-control-allow-origin"), null, "the browser may not read another origin's answer");
    const simple = await fetch(`${app.url}/graphql`, {
      method: "POST",
      headers: { origin: "http://maps.example.com", "content-type": "text/plain" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    assert.equal(simple.status, 400, "a simple (unpreflighted) request is still refused by CSRF prevention");
  });

  test("TileJSON 3.0 describes the satellite layer", async () => {
    const r = await fetch(`${app.url}/tiles/satellite.json`);
    assert.equal(r.status, 200);
    const tj = (await r.json()) as Record<string, unknown>;
    assert.equal(tj.tilejson, "3.0.0");
    assert.deepEqual(tj.tiles, [`${app.url}/tiles/satellite/{z}/{x}/{y}`]);
    assert.equal(tj.minzoom, 3);
    assert.equal(tj.maxzoom, 18);
    assert.equal((tj.bounds as number[]).length, 4);
    assert.equal(typeof tj.attribution, "string");
    const tile = (tj.tiles as string[])[0].replace("{z}", "12").replace("{x}", "654").replace("{y}", "1583");
    assert.equal((await fetch(tile)).status, 200, "the template points at real tiles");
  });

  test("the map page: /, its scripts and MapLibre are served from the service, with ETags and a content security policy", async () => {
    const page = await fetch(`${app.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const html = await page.text();
    for (const src of ["/web/app.js", "/vendor/maplibre-gl/maplibre-gl.css", "/web/app.css"]) assert.ok(html.includes(src), src);
    for (const asset of [
      "/web/app.js",
      "/web/exif-gps.js",
      "/vendor/maplibre-gl/maplibre-gl.mjs",
      "/vendor/maplibre-gl/maplibre-gl-worker.mjs",
    ]) {
      const r = await fetch(`${app.url}${asset}`);
      assert.equal(r.status, 200, asset);
      assert.match(r.headers.get("content-type") ?? "", /^text\/javascript/);
      const again = await fetch(`${app.url}${asset}`, { headers: { "if-none-match": r.headers.get("etag") ?? "" } });
      assert.equal(again.status, 304, asset);
    }
    // Only the listed files: nothing else on disk is reachable.
    for (const p of ["/web/../package.json", "/vendor/maplibre-gl/package.json", "/web/nope.js", "/index.html"]) {
      assert.equal((await fetch(`${app.url}${p}`)).status, 404, p);
    }
  });
});
