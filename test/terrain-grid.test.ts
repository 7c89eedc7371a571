/** The terrain grid inside a tile: cleaning (the trainer's reference, golden file), pieces, their geometry. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { booleanValid, area as turfArea, polygon, union, featureCollection, multiPolygon } from "@turf/turf";
import type { Feature, MultiPolygon, Polygon } from "geojson";
import { cleanGrid, outlineGeometry, pieceOutlines, wholeTileGrid } from "../src/terrain/grid.js";
import { tileBoundsGeometry, tilesInBox, type TileKey } from "../src/tiles/tile-math.js";

const GOLDEN = fileURLToPath(new URL("../../trainer/tests/golden/grid-clean.json", import.meta.url));
interface Case {
  side: number;
  classes: number;
  minCells: number;
  probs: number[];
  labels: number[];
  confidence255: number[];
}

describe("terrain grid", () => {
  test("cleanGrid gives what the trainer's clean_grid gives on every golden case", () => {
    const cases = JSON.parse(readFileSync(GOLDEN, "utf8")) as Case[];
    assert.ok(cases.length >= 5);
    for (const [i, c] of cases.entries()) {
      const g = cleanGrid(c.probs, c.classes, c.side, c.minCells);
      assert.deepEqual(Array.from(g.labels), c.labels, `case ${i}: labels`);
      const diffs = Array.from(g.confidence).map((v, j) => Math.abs(v - c.confidence255[j]));
      assert.ok(Math.max(...diffs) <= 1, `case ${i}: confidence within one step of 255`);
    }
  });

  test("a lone cell joins its surroundings; a piece of minCells stays", () => {
    const side = 4;
    const probs = (labels: number[]) => {
      const p = new Array(2 * 16).fill(0.1);
      labels.forEach((l, i) => (p[l * 16 + i] = 0.9));
      return p;
    };
    const lone = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert.deepEqual(Array.from(cleanGrid(probs(lone), 2, side, 2).labels), new Array(16).fill(0));
    const band = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    const kept = cleanGrid(probs(band), 2, side, 4);
    assert.deepEqual(Array.from(kept.labels), band, "a band two cells wide survives the majority filter and minCells 4");
    assert.equal(kept.confidence[0], Math.round(0.9 * 255));
    assert.throws(() => cleanGrid([0.5, 0.5], 2, side, 2), /has 32 values/);
  });

  test("pieces are 4-connected cells of one terrain; their outlines enclose exactly their cells", () => {
    // 0 0 1 1 / 0 1 1 0 / 0 0 0 0 / 2 0 0 2: terrain 0 is one piece, 1 one piece, 2 two pieces.
    const labels = Uint8Array.from([0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 2, 0, 0, 2]);
    const pieces = pieceOutlines({ cells: 4, labels, confidence: new Uint8Array(16).fill(255) });
    const byTerrain = (t: number) => pieces.filter((p) => p.terrain === t);
    assert.equal(byTerrain(1).length, 1);
    assert.equal(byTerrain(2).length, 2);
    // The 0 at (3, 1) reaches the other 0s through (3, 2), below it.
    assert.equal(byTerrain(0).length, 1);
    assert.equal(
      pieces.reduce((s, p) => s + p.cells, 0),
      16,
    );
    // Shoelace area of the outer ring minus the holes = the piece's cells.
    const ringArea = (r: [number, number][]) =>
      Math.abs(r.reduce((s, [x, y], k) => (k ? s + (r[k - 1][0] * y - x * r[k - 1][1]) : s), 0) / 2);
    for (const p of pieces) {
      const area = p.polygons.reduce((s, rings) => s + ringArea(rings[0]) - rings.slice(1).reduce((h, r) => h + ringArea(r), 0), 0);
      assert.equal(area, p.cells);
      assert.equal(p.confidence, 1);
      for (const rings of p.polygons) for (const r of rings) assert.deepEqual(r[0], r.at(-1), "closed rings");
    }
  });

  test("outlines of noisy grids: valid polygons (pinched corners split, holes kept), every cell corner a vertex", () => {
    let seed = 3;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let t = 0; t < 100; t++) {
      const labels = Uint8Array.from({ length: 256 }, () => Math.floor(rnd() * 3));
      const pieces = pieceOutlines({ cells: 16, labels, confidence: new Uint8Array(256).fill(200) });
      assert.equal(
        pieces.reduce((s, p) => s + p.cells, 0),
        256,
      );
      for (const p of pieces) {
        const f = multiPolygon(p.polygons as unknown as number[][][][]);
        assert.ok(booleanValid(f), `grid ${t}: a valid polygon`);
        for (const rings of p.polygons)
          for (const r of rings)
            for (let k = 1; k < r.length; k++)
              assert.equal(Math.abs(r[k][0] - r[k - 1][0]) + Math.abs(r[k][1] - r[k - 1][1]), 1, "unit steps");
      }
    }
    // A ring of cells around a hole that touches it at a corner: one polygon with its hole.
    const ring = Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    ring[10] = 1; // (2, 2) filled: the hole (1,1),(2,1),(1,2) is L-shaped
    const pieces = pieceOutlines({ cells: 4, labels: ring, confidence: new Uint8Array(16).fill(255) });
    const one = pieces.find((p) => p.terrain === 1)!;
    assert.equal(one.polygons.length, 1);
    assert.equal(one.polygons[0].length, 2, "outer ring and hole");
  });

  test("outline geometry: cells are the tiles 4 zooms deeper, so the pieces of a tile add up to the tile", () => {
    const tile: TileKey = { z: 16, x: 14718, y: 23045 };
    const labels = Uint8Array.from({ length: 256 }, (_, i) => (i % 16 < 5 ? 0 : Math.floor(i / 16) < 9 ? 1 : 2));
    const pieces = pieceOutlines({ cells: 16, labels, confidence: new Uint8Array(256).fill(200) });
    const polys = pieces.map((p) => multiPolygon(outlineGeometry(tile, 16, p.polygons).coordinates));
    const merged = union(featureCollection(polys)) as Feature<Polygon | MultiPolygon>;
    const tileArea = turfArea(polygon(tileBoundsGeometry(tile).coordinates));
    assert.ok(Math.abs(turfArea(merged) - tileArea) / tileArea < 1e-9, "no gap and no overlap");
    assert.equal(merged.geometry.type, "Polygon");
    const [w, s, e, n] = [
      tileBoundsGeometry(tile).coordinates[0][0][0],
      tileBoundsGeometry(tile).coordinates[0][0][1],
      tileBoundsGeometry(tile).coordinates[0][2][0],
      tileBoundsGeometry(tile).coordinates[0][2][1],
    ];
    const coords = outlineGeometry(tile, 16, pieces[0].polygons).coordinates.flat(2);
    assert.ok(coords.some((c) => c[0] === w) && coords.some((c) => c[1] === n), "the tile's own corner values, exactly");
    assert.ok(coords.every((c) => c[0] >= w && c[0] <= e && c[1] >= s && c[1] <= n));
    assert.throws(() => outlineGeometry(tile, 12, pieces[0].polygons), /power of two/);
  });

  test("a model without a grid: the whole tile is its most probable terrain", () => {
    const g = wholeTileGrid([0.1, 0.7, 0.2]);
    assert.deepEqual([g.cells, g.labels[0], g.confidence[0]], [1, 1, Math.round(0.7 * 255)]);
  });

  test("tilesInBox covers the box corners", () => {
    const r = tilesInBox(-99.17, 47.0, -99.13, 47.03, 15);
    assert.ok(r.x1 > r.x0 && r.y1 > r.y0);
    const nw = tileBoundsGeometry({ z: 15, x: r.x0, y: r.y0 }).coordinates[0];
    assert.ok(nw[0][0] <= -99.17 && nw[2][1] >= 47.03);
  });
});
