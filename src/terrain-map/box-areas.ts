/**
 * A box's terrain areas merged from its tiles' terrain grids in JavaScript: the areas that
 * TerrainMapStore.areas computes in PostGIS from the stored pieces, without the database.
 *
 * The tiles' grids laid side by side are one raster of cells on the Web Mercator lattice, so
 * the PostGIS steps have exact raster counterparts: the pieces (4-connected cells of one
 * terrain in a tile) whose bounding box meets the box's and whose mean probability reaches
 * minConfidence; clusters of touching pieces (ST_ClusterDBSCAN at distance 0 = 8-connected
 * cells), with their confidence, tiles and cells; the cluster clipped to the box and dumped
 * into polygons (4-connected clipped cells, outlines traced through the cell corners, holes
 * kept, straight runs as one edge, as ST_Simplify(geom, 0) leaves them); areas on the WGS 84
 * ellipsoid. A warm 5x5 km box took ~150 ms in the embedded database's PostGIS, most of it
 * the clip and the areas; the raster does it in a few milliseconds.
 *
 * Parcels (any polygon) still go to PostGIS: clipping to an arbitrary polygon is its job.
 */
import { cellOutlines, gridPieces, type TerrainGrid } from "../terrain/grid.js";
import { tileBBox, tileKeyString } from "../tiles/tile-math.js";
import type { MergedArea } from "./terrain-map.store.js";

/** WGS 84: semi-major axis (m) and first eccentricity squared. */
const A = 6378137;
const E2 = 0.0066943799901413165;
const E = Math.sqrt(E2);
const RAD = Math.PI / 180;

/** The authalic function q(φ): the ellipsoid's area between the equator and φ over a longitude span of one radian is A²(1-e²)/2·q(φ). */
function authalicQ(latDeg: number): number {
  const s = Math.sin(latDeg * RAD);
  return s / (1 - E2 * s * s) + (1 / (2 * E)) * Math.log((1 + E * s) / (1 - E * s));
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/**
 * The nearest float32 at or below (down) or at or above (up) `v`: PostGIS keeps bounding boxes
 * in float32, rounded outwards, and `&&` compares those, so a piece whose edge lies within a
 * float32 step of the box counts as touching it there too.
 */
function toF32(v: number, dir: "down" | "up"): number {
  f32[0] = v;
  const f = f32[0];
  if (dir === "down" ? f <= v : f >= v) return f;
  if (f === 0) return dir === "down" ? -Number.MIN_VALUE : Number.MIN_VALUE;
  // Away from zero is one step up in the bits' magnitude; toward zero one step down.
  const awayFromZero = dir === "down" ? f < 0 : f > 0;
  u32[0] += awayFromZero ? 1 : -1;
  return f32[0];
}

/** West, south, east, north as PostGIS's float32 bounding box holds them. */
const boxF32 = (w: number, s: number, e: number, n: number) => [toF32(w, "down"), toF32(s, "down"), toF32(e, "up"), toF32(n, "up")];

export interface BoxAreaInput {
  /** The analysis zoom and the tile range of the box (every tile touching it). */
  z: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** The tiles' grids (tiles the source does not have are absent). */
  grids: Map<string, TerrainGrid>;
  /** west, south, east, north (EPSG:4326). */
  box: [number, number, number, number];
  /** The classifier's class names, by index. */
  classes: string[];
  terrains: string[];
  minConfidence: number;
  minAreaSqm: number;
}

/** A grid's pieces with their cell bounding boxes, kept per grid object (grids in the analysis cache are reused). */
interface GridPiece {
  terrain: number;
  cells: number[];
  confidence: number;
  /** Sum of the cells' confidences (0-1). */
  confSum: number;
  cx0: number;
  cx1: number;
  cy0: number;
  cy1: number;
}
const piecesOf = new WeakMap<TerrainGrid, GridPiece[]>();
function cachedPieces(g: TerrainGrid): GridPiece[] {
  let ps = piecesOf.get(g);
  if (!ps) {
    ps = gridPieces(g).map((p) => {
      const b = { cx0: Infinity, cx1: -Infinity, cy0: Infinity, cy1: -Infinity };
      for (const i of p.cells) {
        const cx = i % g.cells;
        const cy = (i - cx) / g.cells;
        b.cx0 = Math.min(b.cx0, cx);
        b.cx1 = Math.max(b.cx1, cx);
        b.cy0 = Math.min(b.cy0, cy);
        b.cy1 = Math.max(b.cy1, cy);
      }
      return { ...p, confSum: p.confidence * p.cells.length, ...b };
    });
    piecesOf.set(g, ps);
  }
  return ps;
}

/** The merged areas of the requested terrains inside the box, as TerrainMapStore.areas returns them (unsorted). */
export function boxAreas(inp: BoxAreaInput): MergedArea[] {
  const { z, x0, x1, y0, y1, grids, classes } = inp;
  let side = 1;
  for (const g of grids.values()) side = Math.max(side, g.cells);
  const k = Math.log2(side);
  if (!Number.isInteger(k)) throw new Error(`a grid of ${side} cells a side is not a power of two`);
  const tw = x1 - x0 + 1;
  const W = tw * side;
  const H = (y1 - y0 + 1) * side;
  // Cell edges: a cell is a tile k zooms deeper, as in outlineGeometry, so coordinates are the stored pieces' own.
  const lonEdge = Float64Array.from({ length: W + 1 }, (_, i) => tileBBox({ z: z + k, x: x0 * side + i, y: 0 })[0]);
  const latEdge = Float64Array.from({ length: H + 1 }, (_, j) => tileBBox({ z: z + k, x: 0, y: y0 * side + j })[3]);
  const [bw, bs, be, bn] = inp.box;
  const [fw, fs, fe, fn] = boxF32(bw, bs, be, bn);
  const wanted = new Set(inp.terrains.map((t) => classes.indexOf(t)).filter((i) => i >= 0));

  // The selected pieces painted into the raster: terrain per cell (255: none) and piece index.
  // A piece's weight is the raster cells one of its grid's cells is (grids coarser than the
  // finest count their own cells, as their stored pieces do).
  const label = new Uint8Array(W * H).fill(255);
  const pieceOf = new Int32Array(W * H);
  const pConfSum: number[] = [];
  const pCells: number[] = [];
  const pTile: number[] = [];
  /** The piece's cells in raster columns and rows (inclusive). */
  const pBox: number[] = [];
  for (let ty = y0; ty <= y1; ty++)
    for (let tx = x0; tx <= x1; tx++) {
      const g = grids.get(tileKeyString({ z, x: tx, y: ty }));
      if (!g) continue;
      const f = side / g.cells;
      const ox = (tx - x0) * side;
      const oy = (ty - y0) * side;
      for (const p of cachedPieces(g)) {
        if (!wanted.has(p.terrain) || !(p.confidence >= inp.minConfidence)) continue;
        const [pw, ps, pe, pn] = boxF32(
          lonEdge[ox + p.cx0 * f],
          latEdge[oy + (p.cy1 + 1) * f],
          lonEdge[ox + (p.cx1 + 1) * f],
          latEdge[oy + p.cy0 * f],
        );
        if (pw > fe || pe < fw || ps > fn || pn < fs) continue; // p.geom && clip.g
        const id = pCells.length;
        pConfSum.push(p.confSum);
        pCells.push(p.cells.length);
        pTile.push((ty - y0) * tw + (tx - x0));
        pBox.push(ox + p.cx0 * f, ox + (p.cx1 + 1) * f - 1, oy + p.cy0 * f, oy + (p.cy1 + 1) * f - 1);
        for (const i of p.cells) {
          const cx = (i % g.cells) * f;
          const cy = Math.floor(i / g.cells) * f;
          for (let dy = 0; dy < f; dy++)
            for (let dx = 0; dx < f; dx++) {
              const r = (oy + cy + dy) * W + ox + cx + dx;
              label[r] = p.terrain;
              pieceOf[r] = id;
            }
        }
      }
    }

  // The cells the box cuts (columns ci0..ci1, rows cj0..cj1) and the clipped lattice coordinates.
  let ci0 = 0;
  while (ci0 < W && lonEdge[ci0 + 1] <= bw) ci0++;
  let ci1 = W - 1;
  while (ci1 >= 0 && lonEdge[ci1] >= be) ci1--;
  let cj0 = 0;
  while (cj0 < H && latEdge[cj0 + 1] >= bn) cj0++;
  let cj1 = H - 1;
  while (cj1 >= 0 && latEdge[cj1] <= bs) cj1--;
  const vLon = (i: number) => Math.min(Math.max(lonEdge[i], bw), be);
  const vLat = (j: number) => Math.min(Math.max(latEdge[j], bs), bn);
  // A clipped cell's area on the ellipsoid (between two meridians and two parallels) is its
  // longitude span times its row's factor A²(1-e²)/2·(q(north) - q(south)) per radian.
  const colLon = Float64Array.from({ length: W + 1 }, (_, i) => vLon(i));
  const lonOut = Array.from(colLon, round8);
  const latOut = Array.from({ length: H + 1 }, (_, j) => round8(vLat(j)));
  const rowQ = Float64Array.from({ length: H }, (_, j) => (RAD * A * A * (1 - E2) * (authalicQ(vLat(j)) - authalicQ(vLat(j + 1)))) / 2);

  // Clusters (8-connected cells of one terrain) and, inside the box, polygons (4-connected
  // cells of one cluster), by union-find. A piece is 4-connected already, so clusters join
  // pieces, and so do polygons except where the box cuts a piece (its cells inside the box need
  // not be connected there): those cells join one by one. Nodes 0..nP-1 are pieces, nP + i cell i.
  const N = W * H;
  const nP = pCells.length;
  const parent = new Int32Array(nP + N);
  for (let i = 0; i < nP + N; i++) parent[i] = i;
  const find = (i: number) => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const t = label[i];
      if (t === 255) continue;
      const p = pieceOf[i];
      if (x < W - 1 && label[i + 1] === t && pieceOf[i + 1] !== p) union(p, pieceOf[i + 1]);
      if (y < H - 1) {
        const d = i + W;
        if (label[d] === t && pieceOf[d] !== p) union(p, pieceOf[d]);
        if (x > 0 && label[d - 1] === t && pieceOf[d - 1] !== p) union(p, pieceOf[d - 1]);
        if (x < W - 1 && label[d + 1] === t && pieceOf[d + 1] !== p) union(p, pieceOf[d + 1]);
      }
    }
  // Cluster statistics from its pieces and their tiles; a cell's cluster is its piece's root.
  const clusterOf = new Int32Array(nP);
  const confSum = new Float64Array(nP);
  const cellSum = new Float64Array(nP);
  const tileCount = new Int32Array(nP);
  const tileSeen = new Int32Array(tw * (y1 - y0 + 1)).fill(-1);
  for (let p = 0; p < nP; p++) {
    const c = (clusterOf[p] = find(p));
    confSum[c] += pConfSum[p];
    cellSum[c] += pCells[p];
    if (tileSeen[pTile[p]] !== c) {
      tileSeen[pTile[p]] = c;
      tileCount[c]++;
    }
  }
  const cluster = new Int32Array(N).fill(-1);
  for (let i = 0; i < N; i++) if (label[i] !== 255) cluster[i] = clusterOf[pieceOf[i]];
  // Polygons: the cells the box cuts, 4-connected within a cluster.
  for (let i = 0; i < nP; i++) parent[i] = i;
  const cut = new Uint8Array(nP);
  for (let p = 0; p < nP; p++)
    cut[p] = pBox[4 * p] < ci0 || pBox[4 * p + 1] > ci1 || pBox[4 * p + 2] < cj0 || pBox[4 * p + 3] > cj1 ? 1 : 0;
  const node = (i: number) => (cut[pieceOf[i]] ? nP + i : pieceOf[i]);
  for (let y = cj0; y <= cj1; y++)
    for (let x = ci0; x <= ci1; x++) {
      const i = y * W + x;
      const c = cluster[i];
      if (c < 0) continue;
      const p = pieceOf[i];
      if (x < ci1 && cluster[i + 1] === c && (pieceOf[i + 1] !== p || cut[p])) union(node(i), node(i + 1));
      if (y < cj1 && cluster[i + W] === c && (pieceOf[i + W] !== p || cut[p])) union(node(i), node(i + W));
    }
  // Each polygon's cells, grouped by root (a counting sort), and its area.
  const count = new Int32Array(nP + N);
  const area = new Float64Array(nP + N);
  const poly = new Int32Array(N).fill(-1); // a cell's polygon (its root node), inside the box
  const roots: number[] = [];
  for (let y = cj0; y <= cj1; y++)
    for (let x = ci0; x <= ci1; x++) {
      const i = y * W + x;
      if (cluster[i] < 0) continue;
      const r = find(node(i));
      poly[i] = r;
      if (count[r]++ === 0) roots.push(r);
      area[r] += (colLon[x + 1] - colLon[x]) * rowQ[y];
    }
  const offset = new Int32Array(nP + N);
  let o = 0;
  for (const r of roots) {
    offset[r] = o;
    o += count[r];
  }
  const cellsOf = new Int32Array(o);
  const fill = new Int32Array(nP + N);
  for (let y = cj0; y <= cj1; y++)
    for (let x = ci0; x <= ci1; x++) {
      const i = y * W + x;
      if (cluster[i] < 0) continue;
      const r = poly[i];
      cellsOf[offset[r] + fill[r]++] = i;
    }

  const out: MergedArea[] = [];
  for (const r of roots) {
    if (!(area[r] > 0) || area[r] < inp.minAreaSqm) continue;
    const first = cellsOf[offset[r]];
    const c = cluster[first];
    const member = (x: number, y: number) => x >= ci0 && x <= ci1 && y >= cj0 && y <= cj1 && poly[y * W + x] === r;
    const polygons = cellOutlines(cellsOf.subarray(offset[r], offset[r] + count[r]), W, member).map((rings) =>
      rings.map((ring) => straightRuns(ring).map(([x, y]) => [lonOut[x], latOut[y]])),
    );
    out.push({
      terrain: classes[label[first]],
      // One outer ring a 4-connected set (a pinch makes a hole touch it at a point); kept general.
      geometry: polygons.length === 1 ? { type: "Polygon", coordinates: polygons[0] } : { type: "MultiPolygon", coordinates: polygons },
      areaSqm: area[r],
      meanConfidence: confSum[c] / cellSum[c],
      tileCount: tileCount[c],
      cellCount: cellSum[c],
    });
  }
  return out;
}

const round8 = (v: number) => Math.round(v * 1e8) / 1e8;

/** A closed rectilinear ring with the vertices inside straight runs dropped (ST_Simplify(geom, 0)). */
function straightRuns(ring: [number, number][]): [number, number][] {
  const pts = ring.slice(0, -1);
  const n = pts.length;
  const keep = pts.filter((p, i) => {
    const a = pts[(i - 1 + n) % n];
    const b = pts[(i + 1) % n];
    return (p[0] - a[0]) * (b[1] - p[1]) - (p[1] - a[1]) * (b[0] - p[0]) !== 0;
  });
  return [...keep, keep[0]];
}
