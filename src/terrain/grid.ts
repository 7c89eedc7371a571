/**
 * The terrain grid inside a tile: the terrain classifier's per-cell probabilities, cleaned as
 * the study this part of the project comes from cleaned sliding windows (a 3×3 majority
 * filter, then pieces smaller than `minCells` cells join the terrain around them), and cut
 * into pieces: the 4-connected cells of one terrain, each outlined as polygon rings through the
 * tile's cell corners. trainer/groundview/grid.py clean_grid is the reference; the
 * two are tested on the same cases (trainer/tests/golden/grid-clean.json).
 */

import { type TileKey, tileBBox } from "../tiles/tile-math.js";

export interface TerrainGrid {
  /** Cells per tile side (a power of two). */
  cells: number;
  /** Terrain index (the classifier's class order) per cell, row-major from the tile's north-west corner. */
  labels: Uint8Array;
  /** The cell's probability of its terrain, 0–255. */
  confidence: Uint8Array;
}

const NEIGHBOURS: [number, number][] = [
  [0, 1],
  [0, -1],
  [1, 0],
  [-1, 0],
];

/** Calls `fn` with the index of each 4-neighbour of cell `i` inside a side × side grid. */
function forNeighbours(i: number, side: number, fn: (n: number) => void): void {
  const y = Math.floor(i / side);
  const x = i % side;
  for (const [dy, dx] of NEIGHBOURS) {
    const ny = y + dy;
    const nx = x + dx;
    if (ny >= 0 && ny < side && nx >= 0 && nx < side) fn(ny * side + nx);
  }
}

/** The index in [0, n) of the largest `value(index)`; the first one on ties (as numpy's argmax). */
function argmax(n: number, value: (index: number) => number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (value(c) > value(best)) best = c;
  return best;
}

function majority(labels: Uint8Array, side: number, nClasses: number): Uint8Array {
  const out = new Uint8Array(labels.length);
  const votes = new Int32Array(nClasses);
  const clamp = (v: number) => (v < 0 ? 0 : v >= side ? side - 1 : v);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      votes.fill(0);
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) votes[labels[clamp(y + dy) * side + clamp(x + dx)]]++;
      const own = labels[y * side + x];
      const best = argmax(nClasses, (c) => votes[c]);
      out[y * side + x] = votes[own] === votes[best] ? own : best;
    }
  }
  return out;
}

/** 4-connected components in scan order, each a list of cell indices. */
function components(labels: Uint8Array, side: number): number[][] {
  const seen = new Uint8Array(labels.length);
  const out: number[][] = [];
  for (let start = 0; start < labels.length; start++) {
    if (seen[start]) continue;
    const comp: number[] = [];
    const stack = [start];
    seen[start] = 1;
    const c = labels[start];
    while (stack.length) {
      const i = stack.pop() as number;
      comp.push(i);
      forNeighbours(i, side, (n) => {
        if (!seen[n] && labels[n] === c) {
          seen[n] = 1;
          stack.push(n);
        }
      });
    }
    out.push(comp);
  }
  return out;
}

/**
 * Cleans a grid of probabilities laid out (C, side, side), as the model outputs it.
 */
export function cleanGrid(probs: ArrayLike<number>, nClasses: number, side: number, minCells: number): TerrainGrid {
  const plane = side * side;
  if (probs.length !== nClasses * plane)
    throw new Error(`a ${side}×${side} grid of ${nClasses} classes has ${nClasses * plane} values, not ${probs.length}`);
  const raw = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) raw[i] = argmax(nClasses, (c) => probs[c * plane + i]);
  const labels = majority(raw, side, nClasses);
  const votes = new Int32Array(nClasses);
  for (let iter = 0; iter < 4; iter++) {
    let changed = false;
    // Smallest first; Array.prototype.sort is stable, as Python's sorted is.
    const comps = components(labels, side).sort((a, b) => a.length - b.length);
    for (const comp of comps) {
      if (comp.length >= minCells || comp.length === plane) continue;
      const c = labels[comp[0]];
      votes.fill(0);
      let total = 0;
      for (const i of comp)
        forNeighbours(i, side, (n) => {
          if (labels[n] !== c) {
            votes[labels[n]]++;
            total++;
          }
        });
      if (!total) continue;
      const best = argmax(nClasses, (k) => votes[k]);
      for (const i of comp) labels[i] = best;
      changed = true;
    }
    if (!changed) break;
  }
  const confidence = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) confidence[i] = Math.round(Math.min(1, Math.max(0, probs[labels[i] * plane + i])) * 255);
  return { cells: side, labels, confidence };
}

/** A grid of one cell: the whole tile is its most probable terrain (models without a grid output). */
export function wholeTileGrid(terrain: ArrayLike<number>): TerrainGrid {
  const best = argmax(terrain.length, (c) => terrain[c]);
  return { cells: 1, labels: Uint8Array.of(best), confidence: Uint8Array.of(Math.round(terrain[best] * 255)) };
}

/**
 * The outline of each piece as polygon rings in the tile's cell corners, with a vertex at every
 * cell corner along it (none merged), so that two pieces that share an edge (in one tile or
 * across a tile border) share exactly the same vertices along it: the pieces form a clean
 * coverage that PostGIS merges by dropping shared edges. Returns, per piece, its polygons
 * (outer ring first, then holes), rings closed, in [x, y] cell-corner coordinates (y down).
 */
export function pieceOutlines(g: TerrainGrid): { terrain: number; cells: number; confidence: number; polygons: [number, number][][][] }[] {
  const side = g.cells;
  return gridPieces(g).map((p) => {
    const inPiece = new Uint8Array(side * side);
    for (const i of p.cells) inPiece[i] = 1;
    const polygons = cellOutlines(p.cells, side, (x, y) => x >= 0 && y >= 0 && x < side && y < side && inPiece[y * side + x] === 1);
    return { terrain: p.terrain, cells: p.cells.length, confidence: p.confidence, polygons };
  });
}

/** A grid's pieces (4-connected cells of one terrain, in scan order): cell indices, terrain, mean confidence (0–1). */
export function gridPieces(g: TerrainGrid): { terrain: number; cells: number[]; confidence: number }[] {
  return components(g.labels, g.cells).map((comp) => {
    let conf = 0;
    for (const i of comp) conf += g.confidence[i] / 255;
    return { terrain: g.labels[comp[0]], cells: comp, confidence: conf / comp.length };
  });
}

/**
 * The outline of a 4-connected set of cells (`comp`, indices into a raster `width` cells wide;
 * `has(x, y)` says whether a cell is in it) as polygons: outer ring first, then its holes,
 * rings closed, in [x, y] cell-corner coordinates (y down), a vertex at every cell corner.
 */
export function cellOutlines(
  comp: ArrayLike<number> & Iterable<number>,
  width: number,
  has: (x: number, y: number) => boolean,
): [number, number][][][] {
  // Directed boundary edges with the cells on their right (x right, y down): clockwise on screen.
  const starts = new Map<number, number[]>(); // vertex id -> edge ends (vertex ids)
  const vid = (x: number, y: number) => y * (width + 1) + x;
  const addEdge = (x0: number, y0: number, x1: number, y1: number) => {
    const a = vid(x0, y0);
    const list = starts.get(a);
    if (list) list.push(vid(x1, y1));
    else starts.set(a, [vid(x1, y1)]);
  };
  let edges = 0;
  for (const i of comp) {
    const x = i % width;
    const y = Math.floor(i / width);
    if (!has(x, y - 1)) (addEdge(x, y, x + 1, y), edges++);
    if (!has(x + 1, y)) (addEdge(x + 1, y, x + 1, y + 1), edges++);
    if (!has(x, y + 1)) (addEdge(x + 1, y + 1, x, y + 1), edges++);
    if (!has(x - 1, y)) (addEdge(x, y + 1, x, y), edges++);
  }
  const xy = (v: number): [number, number] => [v % (width + 1), Math.floor(v / (width + 1))];
  const rings: [number, number][][] = [];
  while (edges > 0) {
    // Start where the ring is not pinched (one way on), so that closing the ring there is right.
    let start = -1;
    for (const [v, l] of starts) {
      if (l.length === 1) {
        start = v;
        break;
      }
      if (start < 0 && l.length) start = v;
    }
    const ring: [number, number][] = [xy(start)];
    let prev = start;
    let cur = starts.get(start)!.pop()!;
    if (!starts.get(start)!.length) starts.delete(start);
    edges--;
    while (cur !== start || ring.length < 2) {
      ring.push(xy(cur));
      const next = starts.get(cur)!;
      let pick = 0;
      if (next.length > 1) {
        // A pinch (two cells of the piece touch at a corner, and it is connected elsewhere, so
        // the outline and a hole meet there): turn left, away from the piece, so that the
        // outer ring and the hole's ring each pass the corner once (an OGC-valid polygon).
        const [px, py] = xy(prev);
        const [cx, cy] = xy(cur);
        const dir = [cx - px, cy - py];
        const left = [dir[1], -dir[0]];
        pick = next.findIndex((n) => {
          const [nx, ny] = xy(n);
          return nx - cx === left[0] && ny - cy === left[1];
        });
        if (pick < 0) pick = 0;
      }
      prev = cur;
      cur = next.splice(pick, 1)[0];
      if (!next.length) starts.delete(prev);
      edges--;
    }
    ring.push(xy(start));
    rings.push(ring);
  }
  // Shoelace in y-down coordinates: clockwise-on-screen outer rings have positive area here.
  const area = (r: [number, number][]) => r.reduce((s, [x0, y0], k) => (k ? s + (r[k - 1][0] * y0 - x0 * r[k - 1][1]) : s), 0) / 2;
  const outers = rings.filter((r) => area(r) > 0).map((r) => [r]);
  for (const hole of rings.filter((r) => area(r) < 0)) {
    if (outers.length === 1) {
      outers[0].push(hole);
      continue;
    }
    // The cell beside the hole's first edge, outside the piece: inside exactly one outer ring.
    const [[x0, y0], [x1, y1]] = hole;
    const px = (x0 + x1) / 2 + (y1 - y0) / 2;
    const py = (y0 + y1) / 2 - (x1 - x0) / 2;
    const owner = outers.find(([o]) => inRing(o, px, py)) ?? outers[0];
    owner.push(hole);
  }
  return outers;
}

function inRing(r: [number, number][], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Piece outlines (cell-corner rings) as a GeoJSON MultiPolygon (EPSG:4326). With 2^k cells a
 * side, a cell is exactly a tile k zooms deeper, so its corners come from the same tile maths as
 * every tile's bounds, and neighbouring pieces (in one tile or across a tile border) share edges
 * exactly.
 */
export function outlineGeometry(
  tile: TileKey,
  cells: number,
  polygons: [number, number][][][],
): { type: "MultiPolygon"; coordinates: number[][][][] } {
  const k = Math.log2(cells);
  if (!Number.isInteger(k)) throw new Error(`a grid of ${cells} cells a side is not a power of two`);
  const z = tile.z + k;
  const lon = (cx: number) => tileBBox({ z, x: tile.x * cells + cx, y: 0 })[0];
  const lat = (cy: number) => tileBBox({ z, x: 0, y: tile.y * cells + cy })[3];
  const lons = Array.from({ length: cells + 1 }, (_, i) => lon(i));
  const lats = Array.from({ length: cells + 1 }, (_, i) => lat(i));
  return { type: "MultiPolygon", coordinates: polygons.map((rings) => rings.map((r) => r.map(([x, y]) => [lons[x], lats[y]]))) };
}
