/**
 * Terrain change between two dates of one tile, cell by cell (issue 14): a cell changed where
 * the two dates' terrain grids name different terrains and a confidence allows it — the change
 * detector's probability (detectedChangeGrid), or without a detector both dates' own
 * probabilities (changeGrid). Anything else is "no change known".
 */
import type { TerrainGrid } from "../terrain/grid.js";

/** Label of a cell with no (known) change. */
export const NO_CHANGE = 255;

/** The change label of a transition; `nClasses`² must stay below NO_CHANGE. */
export const transition = (from: number, to: number, nClasses: number) => from * nClasses + to;
export const transitionOf = (label: number, nClasses: number): [number, number] => [Math.floor(label / nClasses), label % nClasses];

/** The index in a grid of `cells` a side of the cell that holds cell (x, y) of a finer grid of `side` a side. */
const cellAt = (side: number, cells: number, x: number, y: number) => {
  const f = side / cells;
  return Math.floor(y / f) * cells + Math.floor(x / f);
};

/**
 * The cells, at the finest of the grids' resolutions (`side`), where the two dates' terrains
 * differ and `confidence(x, y, i, j)` (i, j: the cell's index in `from` and `to`; 0–255, or -1
 * for "not confident") allows it; each such cell gets its transition and that confidence.
 */
function transitions(
  from: TerrainGrid,
  to: TerrainGrid,
  side: number,
  nClasses: number,
  confidenceOf: (x: number, y: number, i: number, j: number) => number,
): { grid: TerrainGrid; changed: number } {
  if (nClasses * nClasses >= NO_CHANGE) throw new Error(`${nClasses} terrains are too many for one-byte transitions`);
  const labels = new Uint8Array(side * side).fill(NO_CHANGE);
  const confidence = new Uint8Array(side * side);
  let changed = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = cellAt(side, from.cells, x, y);
      const j = cellAt(side, to.cells, x, y);
      const a = from.labels[i];
      const b = to.labels[j];
      if (a === b) continue;
      const c = confidenceOf(x, y, i, j);
      if (c < 0) continue;
      labels[y * side + x] = transition(a, b, nClasses);
      confidence[y * side + x] = c;
      changed++;
    }
  }
  return { grid: { cells: side, labels, confidence }, changed };
}

/**
 * The change grid of a tile: per cell, its transition label (NO_CHANGE where nothing confidently
 * changed) and, as its confidence, the lower of the two dates' probabilities (0–255). Grids of
 * different resolutions are compared at the finer one (a coarse cell covers its sub-cells).
 */
export function changeGrid(
  from: TerrainGrid,
  to: TerrainGrid,
  nClasses: number,
  minConfidence: number,
): { grid: TerrainGrid; changed: number } {
  const min = Math.ceil(minConfidence * 255 - 1e-9);
  return transitions(from, to, Math.max(from.cells, to.cells), nClasses, (_x, _y, i, j) => {
    const c = Math.min(from.confidence[i], to.confidence[j]);
    return c >= min ? c : -1;
  });
}

/**
 * The change grid of a tile from the change detector: a cell changed when the detector gives it
 * at least `threshold` and the two dates' terrain grids name different terrains there (the
 * transition reported); its confidence is the detector's probability (0–255). `change` holds
 * `cells`² probabilities; all grids are compared at the finest of the three resolutions.
 */
export function detectedChangeGrid(
  from: TerrainGrid,
  to: TerrainGrid,
  change: Float32Array,
  cells: number,
  nClasses: number,
  threshold: number,
): { grid: TerrainGrid; changed: number } {
  if (change.length !== cells * cells) throw new Error(`change grid has ${change.length} values, not ${cells}²`);
  const side = Math.max(from.cells, to.cells, cells);
  return transitions(from, to, side, nClasses, (x, y) => {
    const p = change[cellAt(side, cells, x, y)];
    return p >= threshold ? Math.round(p * 255) : -1;
  });
}
