/** Merging matching tiles into areas: components, union, geodesic area (golden values). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { area as turfArea, polygon } from "@turf/turf";
import { components, mergeTiles } from "../src/terrain-filter/terrain-filter.service.js";
import { tilesInBox } from "../src/tiles/tile-math.js";
import { tileBoundsGeometry, type TileKey } from "../src/tiles/tile-math.js";

const z = 15;
const k = (x: number, y: number): TileKey => ({ z, x, y });
const tileArea = (t: TileKey) => turfArea(polygon(tileBoundsGeometry(t).coordinates));

describe("terrain areas", () => {
  test("a 3x3 block merges into one polygon whose area is the sum of its tiles", () => {
    const block = [0, 1, 2].flatMap((dx) => [0, 1, 2].map((dy) => k(9000 + dx, 11000 + dy)));
    const comps = components(block);
    assert.equal(comps.length, 1);
    const g = mergeTiles(comps[0]);
    assert.equal(g.type, "Polygon");
    assert.equal(g.coordinates.length, 1, "no holes");
    const expected = block.reduce((s, t) => s + tileArea(t), 0);
    assert.ok(Math.abs(turfArea(g) - expected) / expected < 1e-6, `${turfArea(g)} vs ${expected}`);
  });

  test("diagonal neighbours are separate areas; a ring keeps its hole", () => {
    assert.equal(components([k(1, 1), k(2, 2)]).length, 2);
    const ring = [0, 1, 2].flatMap((dx) => [0, 1, 2].map((dy) => k(500 + dx, 600 + dy))).filter((t) => !(t.x === 501 && t.y === 601));
    const comps = components(ring);
    assert.equal(comps.length, 1);
    const g = mergeTiles(comps[0]);
    assert.equal(g.type, "Polygon");
    assert.equal(g.coordinates.length, 2, "outer ring and the hole");
    const expected = ring.reduce((s, t) => s + tileArea(t), 0);
    assert.ok(Math.abs(turfArea(g) - expected) / expected < 1e-6);
  });

  test("tilesInBox covers the box corners", () => {
    const r = tilesInBox(-99.17, 47.0, -99.13, 47.03, 15);
    assert.ok(r.x1 > r.x0 && r.y1 > r.y0);
    const nw = tileBoundsGeometry(k(r.x0, r.y0)).coordinates[0];
    assert.ok(nw[0][0] <= -99.17 && nw[2][1] >= 47.03);
  });
});
