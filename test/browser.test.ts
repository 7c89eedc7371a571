/**
 * The map page in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against the running service with no settings but the test database, so the satellite layer is
 * the bundled offline sample area (no network is used: every tile in view is a sample tile).
 * Screenshots of each state go to test-artifacts/browser/.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import sharp from "sharp";
import type { App } from "../src/app.js";
import { createTestDatabase, type TestDatabase } from "./helpers/databases.js";
import { Terrain } from "../src/terrain/terrain.enum.js";
import { gql, startTestApp } from "./helpers/app.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = path.resolve("test-artifacts", "browser");
const VIEW = { width: 1200, height: 760 };

/** Pixel spread of a screenshot region: a blank canvas is one flat colour. */
async function pixelSpread(png: Buffer): Promise<number> {
  const stats = await sharp(png).stats();
  return Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev));
}

/** Presses "Draw a box", drags from one pixel of the map to another, and returns the box that covers on the map. */
async function drawBox(page: Page, from: { x: number; y: number }, to: { x: number; y: number }) {
  await page.click("#draw-box");
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 8 });
  await page.mouse.up();
  const [a, b] = (await page.evaluate(
    `[window.groundview.map.unproject([${from.x}, ${from.y}]), window.groundview.map.unproject([${to.x}, ${to.y}])]`,
  )) as { lng: number; lat: number }[];
  return { west: Math.min(a.lng, b.lng), south: Math.min(a.lat, b.lat), east: Math.max(a.lng, b.lng), north: Math.max(a.lat, b.lat) };
}

describe("map page in Chromium", () => {
  let db: TestDatabase;
  let app: App;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `Chromium not found at ${CHROMIUM}: npm test installs Debian's chromium package (or set CHROMIUM_PATH)`,
    );
    await mkdir(ARTIFACTS, { recursive: true });
    db = await createTestDatabase("embedded");
    // The default source with the bundled sample area; a box limit small enough to test its error.
    app = await startTestApp(db, {
      SAMPLE_AREA: path.resolve("sample"),
      TERRAIN_FILTER_MAX_TILES: "20",
      // The service's default limits, not the unthrottled ones of the other suites.
      QUERY_MAX_COST: "1000",
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: "10000",
    });
    assert.ok(app.sampleArea, "the sample area was loaded");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    page = await browser.newPage({ viewport: VIEW });
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await db?.drop();
  });

  test("the page opens on the sample area with satellite imagery and no console errors", async () => {
    const res = await page.goto(`${app.url}/`);
    assert.equal(res?.status(), 200);
    await page.waitForFunction(() => (globalThis as any).groundview !== undefined, null, { timeout: 60_000 });
    await page.evaluate("window.groundview.ready");
    const centre = (await page.evaluate("window.groundview.map.getCenter()")) as { lng: number; lat: number };
    const [w, s, e, n] = app.sampleArea!.bounds;
    assert.ok(
      centre.lng > w && centre.lng < e && centre.lat > s && centre.lat < n,
      `map opens in the sample area: ${JSON.stringify(centre)}`,
    );
    const shot = await page.screenshot({ path: path.join(ARTIFACTS, "1-map.png"), clip: { x: 60, y: 60, width: 700, height: 640 } });
    assert.ok((await pixelSpread(shot)) > 8, "the satellite canvas shows imagery, not a flat colour");
    const attribution = await page.textContent(".maplibregl-ctrl-attrib");
    assert.match(attribution ?? "", /USDA NAIP 2020/);
    assert.deepEqual(problems, []);
  });

  test("a click shows a landscape card with the generated picture, terrain bars and similar places", async () => {
    await page.mouse.click(410, 380);
    await page.waitForSelector("#landscape-card:not([hidden])");
    await page.waitForFunction(() => {
      const img = (globalThis as any).document.querySelector("#landscape-card .generated");
      return img.complete && img.naturalWidth > 0;
    });
    const size = await page.evaluate('document.querySelector("#landscape-card .generated").naturalWidth');
    assert.equal(size, 128);
    const bars = await page.$$eval("#landscape-card .bars li", (lis) => lis.map((li) => li.getAttribute("data-terrain")));
    assert.equal(bars.length, 7);
    await page.waitForFunction(() => !(globalThis as any).document.querySelector("#landscape-card .similar").textContent.includes("…"));
    await page.screenshot({ path: path.join(ARTIFACTS, "2-landscape.png") });
    assert.deepEqual(problems, []);
  });

  test("a drawn box shows as many terrain polygons as the API returns, with a table and a GeoJSON download", async () => {
    const bbox = await drawBox(page, { x: 300, y: 300 }, { x: 520, y: 500 });
    await page.waitForSelector("#filter-card:not([hidden])", { timeout: 120_000 });
    // The same box asked of the API directly.
    const api = await gql(
      app,
      `query($bbox: BBoxInput!) { terrainFilter(bbox: $bbox, terrain: [${Object.keys(Terrain).join(", ")}], first: 500) { totalCount } }`,
      { bbox },
    );
    const total = api.body.data.terrainFilter.totalCount as number;
    assert.ok(total > 0, "the box holds some terrain");
    const rows = await page.$$eval("#filter-card tbody tr", (trs) => trs.length);
    assert.equal(rows, total);
    await page.waitForFunction(() => (globalThis as any).groundview.map.loaded());
    const drawn = await page.evaluate(
      'new Set(window.groundview.map.queryRenderedFeatures({ layers: ["terrain-fill"] }).map((f) => f.id)).size',
    );
    assert.equal(drawn, total, "every polygon is drawn on the map");
    // Coloured by terrain, with a legend entry for each terrain shown.
    const colours = (await page.evaluate(
      'window.groundview.map.queryRenderedFeatures({ layers: ["terrain-fill"] }).map((f) => [f.properties.terrain, String(f.layer.paint["fill-color"])])',
    )) as [string, string][];
    const terrains = new Set(colours.map(([t]) => t));
    for (const [t, c] of colours) assert.notEqual(c, "rgba(255,255,255,1)", `${t} has its own colour`);
    assert.equal(await page.$$eval("#filter-card .legend li", (lis) => lis.length), terrains.size);
    const geojson = (await page.evaluate('fetch(document.querySelector("#filter-card .download").href).then((r) => r.json())')) as {
      type: string;
      features: unknown[];
    };
    assert.equal(geojson.type, "FeatureCollection");
    assert.equal(geojson.features.length, total);
    await page.screenshot({ path: path.join(ARTIFACTS, "3-box.png") });
    // The terrain layer (vector tiles) draws the stored terrain of the analysed box too.
    await page.click("#terrain-layer");
    await page.waitForFunction(
      () => (globalThis as any).groundview.map.queryRenderedFeatures({ layers: ["terrain-tiles-fill"] }).length > 0,
      undefined,
      { timeout: 60_000 },
    );
    const layerTerrains = (await page.evaluate(
      'Array.from(new Set(window.groundview.map.queryRenderedFeatures({ layers: ["terrain-tiles-fill"] }).map((f) => f.properties.terrain.toUpperCase())))',
    )) as string[];
    for (const t of layerTerrains) assert.ok(Object.keys(Terrain).includes(t), t);
    await page.screenshot({ path: path.join(ARTIFACTS, "3b-terrain-layer.png") });
    await page.click("#terrain-layer");
    assert.deepEqual(problems, []);
  });

  test("a dropped photo with EXIF GPS is checked there and shows a verdict", async () => {
    const { lat, lon } = { lat: 47.0167, lon: -99.155 };
    const deg = (v: number) => {
      const d = Math.floor(Math.abs(v));
      const m = (Math.abs(v) - d) * 60;
      return `${d}/1 ${Math.floor(m)}/1 ${Math.round((m - Math.floor(m)) * 60 * 100)}/100`;
    };
    // A plain outdoor-looking picture (sky over grass), geotagged inside the sample area.
    const sky = await sharp({ create: { width: 320, height: 120, channels: 3, background: { r: 120, g: 170, b: 230 } } })
      .png()
      .toBuffer();
    const photo = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 70, g: 130, b: 50 } } })
      .composite([{ input: sky, top: 0, left: 0 }])
      .withExif({ IFD3: { GPSLatitudeRef: "N", GPSLatitude: deg(lat), GPSLongitudeRef: "W", GPSLongitude: deg(lon) } })
      .jpeg()
      .toBuffer();
    const drop = await page.evaluateHandle(`(() => {
      const bytes = Uint8Array.from(atob("${photo.toString("base64")}"), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], "field.jpg", { type: "image/jpeg" }));
      return dt;
    })()`);
    await page.dispatchEvent("#map", "drop", { dataTransfer: drop });
    await page.waitForFunction(
      () => /PLAUSIBLE|SUSPICIOUS|INCONCLUSIVE/.test((globalThis as any).document.querySelector("#photo-card .verdict").className),
      null,
      { timeout: 120_000 },
    );
    const verdict = await page.textContent("#photo-card .verdict");
    assert.match(verdict ?? "", /checked at its GPS position \(47\.0167\d, -99\.155\d*\)/);
    assert.match((await page.textContent("#photo-card .score")) ?? "", /score \d\.\d\d/);
    assert.ok(((await page.textContent("#photo-card .explanation")) ?? "").length > 20);
    await page.screenshot({ path: path.join(ARTIFACTS, "4-photo.png") });
    assert.deepEqual(problems, []);
  });

  test("dates: a picker of the sample's four dates, a before/after swipe, and a box's changes coloured by transition", async () => {
    const dates = (
      await gql(app, `{ imageryDates(bbox: {west: -99.2, south: 47.0, east: -99.1, north: 47.04}) { date } }`)
    ).body.data.imageryDates.map((d: { date: string }) => d.date);
    assert.deepEqual(dates, ["2020-08-31", "2017-08-27", "2014-07-20", "2009-08-18"], "the sample's dates are dated layers");
    const options = await page.$$eval("#date-picker option", (os) => os.map((o) => (o as any).value));
    assert.deepEqual(options, ["", ...dates]);
    // Picking a date redraws the satellite layer from that date's tiles.
    const dated = page.waitForRequest((r) => /\/tiles\/satellite\/\d+\/\d+\/\d+\?date=2009-08-18$/.test(r.url()), { timeout: 30_000 });
    await page.selectOption("#date-picker", "2009-08-18");
    await dated;
    await page.waitForFunction(() => (globalThis as any).groundview.map.loaded());
    await page.screenshot({ path: path.join(ARTIFACTS, "6-date-2009.png") });
    await page.selectOption("#date-picker", "");

    // Compare: the earlier date over the map left of the swipe line, the later one right of it.
    await page.click("#compare");
    await page.waitForSelector("#map-before:not([hidden])");
    assert.equal(await page.inputValue("#before-date"), "2009-08-18");
    assert.equal(await page.inputValue("#after-date"), "2020-08-31");
    await page.waitForFunction(() => (globalThis as any).groundview.beforeMap?.loaded(), undefined, { timeout: 60_000 });
    await page.fill("#swipe", "30");
    await page.dispatchEvent("#swipe", "input");
    assert.equal(await page.evaluate('document.querySelector("#map-before").style.clipPath'), "inset(0px 70% 0px 0px)");
    const left = await page.screenshot({ clip: { x: 100, y: 200, width: 100, height: 300 } });
    assert.ok((await pixelSpread(left)) > 8, "the earlier date's imagery shows left of the line");
    await page.screenshot({ path: path.join(ARTIFACTS, "7-swipe.png") });

    // A box while comparing: terrainChange between the two dates, over a place that changed
    // (lakes grew and fields moved between 2009 and 2020; six transitions there at 2026-12-07).
    const view = await page.evaluate("({ center: window.groundview.map.getCenter(), zoom: window.groundview.map.getZoom() })");
    await page.evaluate("window.groundview.map.jumpTo({ center: [-99.1516, 47.0215], zoom: 16 })");
    await page.waitForFunction(() => (globalThis as any).groundview.map.loaded());
    const bbox = await drawBox(page, { x: 320, y: 290 }, { x: 500, y: 470 });
    await page.waitForSelector("#change-card:not([hidden])", { timeout: 120_000 });
    const api = await gql(
      app,
      `query($bbox: BBoxInput!) { terrainChange(bbox: $bbox, from: "2009-08-18", to: "2020-08-31", first: 1000) { totalCount summary { fromTerrain toTerrain } } }`,
      { bbox },
    );
    assert.equal(api.body.errors, undefined, JSON.stringify(api.body.errors));
    const c = api.body.data.terrainChange;
    const rows = await page.$$eval("#change-card tbody tr", (trs) => trs.map((tr) => tr.getAttribute("data-transition")));
    assert.deepEqual(
      rows,
      c.summary.map((t: { fromTerrain: string; toTerrain: string }) => `${t.fromTerrain}>${t.toTerrain}`),
      "one row per transition",
    );
    await page.waitForFunction(() => (globalThis as any).groundview.map.loaded());
    const drawn = (await page.evaluate(
      'window.groundview.map.queryRenderedFeatures({ layers: ["change-fill"] }).map((f) => [f.id, f.properties.fromTerrain, f.properties.toTerrain])',
    )) as [number, string, string][];
    assert.ok(c.totalCount > 0, "the box holds change");
    assert.equal(new Set(drawn.map(([id]) => id)).size, c.totalCount, "every changed area is drawn");
    for (const [, f, t] of drawn) assert.ok(rows.includes(`${f}>${t}`), `${f}>${t} is in the summary`);
    // Coloured by transition: filled in the new terrain's colour, outlined in the old one's.
    const paints = (await page.evaluate(
      'window.groundview.map.queryRenderedFeatures({ layers: ["change-fill", "change-line"] }).map((f) => [f.layer.id, f.properties.fromTerrain, f.properties.toTerrain, String(f.layer.paint[f.layer.id === "change-fill" ? "fill-color" : "line-color"])])',
    )) as [string, string, string, string][];
    const byTerrain = new Map<string, string>();
    for (const [layer, f, t, colour] of paints) {
      const terrain = layer === "change-fill" ? t : f;
      assert.notEqual(colour, "rgba(255,255,255,1)", `${terrain} has its own colour`);
      assert.equal(byTerrain.get(terrain) ?? colour, colour, `${terrain} is one colour`);
      byTerrain.set(terrain, colour);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, "8-change.png") });
    await page.click("#compare");
    await page.waitForSelector("#map-before", { state: "hidden" });
    await page.evaluate(`window.groundview.map.jumpTo(${JSON.stringify(view)})`);
    assert.deepEqual(problems, []);
  });

  test("an error is shown in words: a box over the size limit", async () => {
    await drawBox(page, { x: 80, y: 80 }, { x: 760, y: 700 });
    await page.waitForSelector("#error:not([hidden])", { timeout: 60_000 });
    const text = (await page.textContent("#error")) ?? "";
    assert.match(text, /The box is too large/);
    assert.match(text, /BBOX_TOO_LARGE/);
    await page.screenshot({ path: path.join(ARTIFACTS, "5-error.png") });
    assert.deepEqual(problems, []);
  });
});
