/** Local tile sources, URL templates and settings parsing (no database needed). */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { loadSettings, SettingsError } from "../src/config/settings.js";
import { createTileSource } from "../src/tiles/sources/source-factory.js";
import { expandTemplate, parseMaxAge } from "../src/tiles/sources/xyz-http.source.js";
import { metresPerPixel, tileBBox, tileForPoint } from "../src/tiles/tile-math.js";
import { makeTile } from "./helpers/fixtures.js";

const opts = () => ({
  validators: {},
  signal: AbortSignal.timeout(1000),
  maxBytes: 1 << 20,
});

describe("tile sources", () => {
  test("MBTiles: metadata zoom range and attribution, TMS row flip, missing tiles", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "gv-mb-"));
    const file = path.join(dir, "area.mbtiles");
    const db = new Database(file);
    db.exec(
      "CREATE TABLE metadata (name text, value text); CREATE TABLE tiles (zoom_level int, tile_column int, tile_row int, tile_data blob);",
    );
    db.prepare("INSERT INTO metadata VALUES (?, ?)").run("name", "area");
    db.prepare("INSERT INTO metadata VALUES (?, ?)").run("minzoom", "5");
    db.prepare("INSERT INTO metadata VALUES (?, ?)").run("maxzoom", "9");
    db.prepare("INSERT INTO metadata VALUES (?, ?)").run("attribution", "Test imagery");
    const png = await makeTile("png");
    db.prepare("INSERT INTO tiles VALUES (?, ?, ?, ?)").run(5, 3, 2 ** 5 - 1 - 7, png); // XYZ y=7
    db.close();
    const src = createTileSource(loadSettings({ TILE_SOURCE: `mbtiles:${file}` }));
    assert.equal(src.kind, "mbtiles");
    assert.deepEqual(src.zoom, { minZoom: 5, maxZoom: 9 });
    assert.equal(src.attribution, "Test imagery");
    const hit = await src.fetch({ z: 5, x: 3, y: 7 }, opts());
    assert.equal(hit.kind, "ok");
    assert.ok(hit.kind === "ok" && Buffer.from(hit.tile.bytes).equals(png));
    assert.equal((await src.fetch({ z: 5, x: 3, y: 24 }, opts())).kind, "missing");
    await src.close?.();
  });

  test("directory: {z}/{x}/{y}.ext, zoom range from the folders", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "gv-dir-"));
    await mkdir(path.join(dir, "14", "3000"), { recursive: true });
    await mkdir(path.join(dir, "15"), { recursive: true });
    const jpeg = await makeTile("jpeg");
    await writeFile(path.join(dir, "14", "3000", "6000.jpg"), jpeg);
    const src = createTileSource(loadSettings({ TILE_SOURCE: dir }));
    assert.equal(src.kind, "directory");
    assert.deepEqual(src.zoom, { minZoom: 14, maxZoom: 15 });
    const hit = await src.fetch({ z: 14, x: 3000, y: 6000 }, opts());
    assert.ok(hit.kind === "ok" && Buffer.from(hit.tile.bytes).equals(jpeg));
    assert.equal((await src.fetch({ z: 14, x: 3000, y: 6001 }, opts())).kind, "missing");
  });

  test("presets carry attribution; unknown TILE_SOURCE values are refused", () => {
    const esri = createTileSource(loadSettings({ TILE_SOURCE: "esri-world-imagery" }));
    assert.equal(esri.id, "esri-world-imagery");
    assert.match(esri.attribution, /Esri/);
    assert.equal(esri.zoom.maxZoom, 19);
    assert.throws(() => createTileSource(loadSettings({ TILE_SOURCE: "no-such-thing" })), /not a preset/);
  });

  test("URL templates expand {z}/{x}/{y} and TMS {-y}; Cache-Control max-age is read", () => {
    assert.equal(expandTemplate("http://h/{z}/{x}/{y}.png", { z: 3, x: 1, y: 2 }), "http://h/3/1/2.png");
    assert.equal(expandTemplate("http://h/{z}/{x}/{-y}.png", { z: 3, x: 1, y: 2 }), "http://h/3/1/5.png");
    assert.equal(parseMaxAge("public, max-age=3600"), 3600);
    assert.equal(parseMaxAge("no-store"), 0);
    assert.equal(parseMaxAge(null), undefined);
  });
});

describe("tile math", () => {
  test("point to tile, bounds and ground resolution (golden values)", () => {
    assert.deepEqual(tileForPoint(47.02, -99.15, 14), {
      z: 14,
      x: 3679,
      y: 5761,
    });
    assert.deepEqual(tileForPoint(0, 180, 3), { z: 3, x: 7, y: 4 }, "lon 180 stays on the grid");
    assert.deepEqual(tileForPoint(-85.0511, -180, 2), { z: 2, x: 0, y: 3 });
    const [w, s, e, n] = tileBBox({ z: 1, x: 1, y: 0 });
    assert.deepEqual([w, e], [0, 180]);
    assert.ok(Math.abs(s) < 1e-9 && Math.abs(n - 85.0511287798066) < 1e-9);
    assert.ok(Math.abs(metresPerPixel(0, 0) - 156543.03392804097) < 1e-6);
  });
});

describe("settings", () => {
  test("documented defaults", () => {
    const s = loadSettings({});
    assert.equal(s.port, 4000);
    assert.equal(s.databaseUrl, undefined);
    assert.ok(s.dataDir.endsWith(".groundview"));
    assert.equal(s.tileSource, "esri-world-imagery");
    assert.ok(Object.isFrozen(s));
  });

  test("CORS_ORIGINS: none by default, '*', or a list of origins; a URL with a path is refused", () => {
    assert.deepEqual(loadSettings({}).corsOrigins, []);
    assert.equal(loadSettings({ CORS_ORIGINS: "*" }).corsOrigins, "*");
    assert.deepEqual(loadSettings({ CORS_ORIGINS: "https://a.example, http://localhost:5173" }).corsOrigins, [
      "https://a.example",
      "http://localhost:5173",
    ]);
    for (const bad of ["https://a.example/maps", "not an origin"]) {
      assert.throws(
        () => loadSettings({ CORS_ORIGINS: bad }),
        (e: unknown) => e instanceof SettingsError && /CORS_ORIGINS/.test((e as Error).message),
      );
    }
  });

  test("bad values are refused with the setting's name", () => {
    assert.throws(
      () => loadSettings({ PORT: "http" }),
      (e: unknown) => e instanceof SettingsError && /PORT/.test((e as Error).message),
    );
    assert.throws(() => loadSettings({ TILE_MIN_ZOOM: "12", TILE_MAX_ZOOM: "3" }), /TILE_MIN_ZOOM/);
    assert.throws(() => loadSettings({ UPSTREAM_CONCURRENCY: "0" }), /UPSTREAM_CONCURRENCY/);
  });
});
