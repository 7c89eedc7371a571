/**
 * Terrain change between two dates of one tile, cell by cell on the terrain grids (issue 14).
 * Two dates differ in light, season and sensor, and the classifier's answer wobbles with them;
 * a cell is changed only when both dates are confident of their terrain (each cell's
 * probability at least `minConfidence`) and the terrains differ. Anything else is "no change
 * known": an unconfident cell on either date is never reported.
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
  if (nClasses * nClasses >= NO_CHANGE) throw new Error(`${nClasses} terrains are too many for one-byte transitions`);
  const side = Math.max(from.cells, to.cells);
  const labels = new Uint8Array(side * side).fill(NO_CHANGE);
  const confidence = new Uint8Array(side * side);
  const min = Math.ceil(minConfidence * 255 - 1e-9);
  let changed = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = cellAt(side, from.cells, x, y);
      const j = cellAt(side, to.cells, x, y);
      const a = from.labels[i];
      const b = to.labels[j];
      const c = Math.min(from.confidence[i], to.confidence[j]);
      if (a !== b && c >= min) {
        labels[y * side + x] = transition(a, b, nClasses);
        confidence[y * side + x] = c;
        changed++;
      }
    }
  }
  return { grid: { cells: side, labels, confidence }, changed };
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
  if (nClasses * nClasses >= NO_CHANGE) throw new Error(`${nClasses} terrains are too many for one-byte transitions`);
  if (change.length !== cells * cells) throw new Error(`change grid has ${change.length} values, not ${cells}²`);
  const side = Math.max(from.cells, to.cells, cells);
  const labels = new Uint8Array(side * side).fill(NO_CHANGE);
  const confidence = new Uint8Array(side * side);
  let changed = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const p = change[cellAt(side, cells, x, y)];
      const a = from.labels[cellAt(side, from.cells, x, y)];
      const b = to.labels[cellAt(side, to.cells, x, y)];
      if (p >= threshold && a !== b) {
        labels[y * side + x] = transition(a, b, nClasses);
        confidence[y * side + x] = Math.round(p * 255);
        changed++;
      }
    }
  }
  return { grid: { cells: side, labels, confidence }, changed };
}
