/** Web Mercator (EPSG:3857) tile addressing on top of @mapbox/tilebelt. */
import { pointToTile, tileToBBOX } from "@mapbox/tilebelt";
import { outOfRange } from "../errors/errors.js";

/** Web Mercator's latitude limit: atan(sinh(pi)) in degrees. */
export const MAX_LATITUDE = 85.0511287798066;

export interface TileKey {
  readonly z: number;
  readonly x: number;
  readonly y: number;
}

export interface ZoomRange {
  readonly minZoom: number;
  readonly maxZoom: number;
}

/** GeoJSON polygon of a tile's footprint in EPSG:4326. */
export interface PolygonGeometry {
  type: "Polygon";
  coordinates: number[][][];
}

/**
 * Checks a point and zoom against Web Mercator and the source's zoom range.
 * @throws GroundviewError OUT_OF_RANGE naming the offending field
 */
export function validatePoint(lat: number, lon: number, zoom: number, range: ZoomRange): void {
  if (!Number.isFinite(lat) || Math.abs(lat) > MAX_LATITUDE) {
    throw outOfRange("lat", `lat must be within ±${MAX_LATITUDE} (Web Mercator), got ${lat}`, { min: -MAX_LATITUDE, max: MAX_LATITUDE });
  }
  if (!Number.isFinite(lon) || Math.abs(lon) > 180) {
    throw outOfRange("lon", `lon must be within ±180, got ${lon}`, {
      min: -180,
      max: 180,
    });
  }
  validateZoom(zoom, range);
}

export function validateZoom(zoom: number, range: ZoomRange): void {
  if (!Number.isInteger(zoom) || zoom < range.minZoom || zoom > range.maxZoom) {
    throw outOfRange("zoom", `zoom must be an integer in [${range.minZoom}, ${range.maxZoom}] for this tile source, got ${zoom}`, {
      min: range.minZoom,
      max: range.maxZoom,
    });
  }
}

/** Checks a z/x/y address (e.g. from a URL) against the grid and the source's zoom range. */
export function validateTileKey(key: TileKey, range: ZoomRange): void {
  validateZoom(key.z, range);
  const n = 2 ** key.z;
  for (const axis of ["x", "y"] as const) {
    const v = key[axis];
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw outOfRange(axis, `${axis} must be an integer in [0, ${n - 1}] at zoom ${key.z}, got ${v}`, { min: 0, max: n - 1 });
    }
  }
}

/** The tile containing a point. Longitude 180 wraps to the last column, not past it. */
export function tileForPoint(lat: number, lon: number, z: number): TileKey {
  const [x, y] = pointToTile(lon, lat, z);
  const n = 2 ** z;
  // tilebelt wraps lon 180 to column 0; keep it in the last column, whose bounds contain it.
  const col = lon >= 180 ? n - 1 : x;
  return {
    z,
    x: Math.min(Math.max(col, 0), n - 1),
    y: Math.min(Math.max(y, 0), n - 1),
  };
}

/** [west, south, east, north] of a tile in degrees. */
export function tileBBox(key: TileKey): [number, number, number, number] {
  const [w, s, e, n] = tileToBBOX([key.x, key.y, key.z]);
  return [w, s, e, n];
}

export function tileBoundsGeometry(key: TileKey): PolygonGeometry {
  const [w, s, e, n] = tileBBox(key);
  return {
    type: "Polygon",
    coordinates: [
      [
        [w, s],
        [e, s],
        [e, n],
        [w, n],
        [w, s],
      ],
    ],
  };
}

/** Ground metres per pixel of a 256-px tile at a latitude (spherical Web Mercator). */
export function metresPerPixel(lat: number, z: number): number {
  return (Math.cos((lat * Math.PI) / 180) * 2 * Math.PI * 6378137) / (256 * 2 ** z);
}

export const tileKeyString = (k: TileKey) => `${k.z}/${k.x}/${k.y}`;

/** The tiles covering a box at a zoom (inclusive ranges). */
export function tilesInBox(
  west: number,
  south: number,
  east: number,
  north: number,
  z: number,
): { x0: number; x1: number; y0: number; y1: number } {
  const nw = tileForPoint(north, west, z);
  const se = tileForPoint(south, east, z);
  return { x0: nw.x, x1: se.x, y0: nw.y, y1: se.y };
}

/** Every tile of a z/x/y range, column by column. */
export function keysInRange(z: number, r: { x0: number; x1: number; y0: number; y1: number }): TileKey[] {
  const keys: TileKey[] = [];
  for (let x = r.x0; x <= r.x1; x++) for (let y = r.y0; y <= r.y1; y++) keys.push({ z, x, y });
  return keys;
}

/** The zoom whose 256-px tile spans closest (in log scale) to `footprintM` metres at `lat`. */
export function zoomForFootprint(lat: number, footprintM: number, range: ZoomRange): number {
  let best = range.minZoom;
  let bestErr = Infinity;
  for (let z = range.minZoom; z <= range.maxZoom; z++) {
    const err = Math.abs(Math.log((metresPerPixel(lat, z) * 256) / footprintM));
    if (err < bestErr) [best, bestErr] = [z, err];
  }
  return best;
}
