/**
 * An area a client draws or uploads (a parcel, a district): a GeoJSON Polygon or
 * MultiPolygon (or a Feature holding one) in EPSG:4326 degrees, checked for shape here;
 * self-intersection and other topology errors are PostGIS's to find (ST_IsValidReason).
 */
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import { MAX_LATITUDE } from "../tiles/tile-math.js";

/** Most vertices an area may have (all rings together). */
export const AREA_MAX_VERTICES = 10_000;

export type AreaProblem =
  "NOT_A_POLYGON" | "BAD_COORDINATES" | "TOO_FEW_POSITIONS" | "NOT_CLOSED" | "TOO_MANY_VERTICES" | "SELF_INTERSECTION" | "INVALID";

export interface AreaGeometry {
  type: "Polygon" | "MultiPolygon";
  coordinates: number[][][] | number[][][][];
}

export interface ParsedArea {
  geometry: AreaGeometry;
  /** The geometry as GeoJSON text, for PostGIS. */
  json: string;
  /** [west, south, east, north] of all its positions. */
  bbox: [number, number, number, number];
  vertices: number;
}

export function invalidArea(problem: AreaProblem, message: string, extra: Record<string, unknown> = {}): GroundviewError {
  return new GroundviewError(ErrorCode.INVALID_GEOMETRY, `area: ${message}`, { field: "area", problem, ...extra });
}

const isPosition = (p: unknown): p is number[] =>
  Array.isArray(p) && (p.length === 2 || p.length === 3) && p.every((v) => typeof v === "number" && Number.isFinite(v));

/** Checks the GeoJSON's shape, rings and coordinates; throws INVALID_GEOMETRY with a `problem`. */
export function parseArea(input: unknown, maxVertices = AREA_MAX_VERTICES): ParsedArea {
  let g = input as Record<string, unknown> | null;
  if (g && typeof g === "object" && g.type === "Feature") g = g.geometry as Record<string, unknown> | null;
  if (!g || typeof g !== "object" || (g.type !== "Polygon" && g.type !== "MultiPolygon") || !Array.isArray(g.coordinates)) {
    throw invalidArea("NOT_A_POLYGON", "must be a GeoJSON Polygon or MultiPolygon (or a Feature with one)");
  }
  const polygons = (g.type === "Polygon" ? [g.coordinates] : g.coordinates) as unknown[];
  if (!polygons.length) throw invalidArea("TOO_FEW_POSITIONS", "has no polygon");
  let west = Infinity;
  let south = Infinity;
  let east = -Infinity;
  let north = -Infinity;
  let vertices = 0;
  const clean: number[][][][] = [];
  for (const [pi, poly] of polygons.entries()) {
    if (!Array.isArray(poly) || !poly.length) throw invalidArea("TOO_FEW_POSITIONS", `polygon ${pi} has no ring`);
    const rings: number[][][] = [];
    for (const [ri, ring] of poly.entries()) {
      if (!Array.isArray(ring) || ring.length < 4)
        throw invalidArea("TOO_FEW_POSITIONS", `ring ${ri} of polygon ${pi} needs at least 4 positions (the first repeated last)`);
      vertices += ring.length;
      if (vertices > maxVertices) throw invalidArea("TOO_MANY_VERTICES", `more than ${maxVertices} vertices`, { limit: maxVertices });
      const out: number[][] = [];
      for (const p of ring) {
        if (!isPosition(p) || Math.abs(p[0]) > 180 || Math.abs(p[1]) > MAX_LATITUDE) {
          throw invalidArea("BAD_COORDINATES", `positions must be [longitude, latitude] with |lon| ≤ 180 and |lat| ≤ ${MAX_LATITUDE}`);
        }
        out.push([p[0], p[1]]);
        west = Math.min(west, p[0]);
        east = Math.max(east, p[0]);
        south = Math.min(south, p[1]);
        north = Math.max(north, p[1]);
      }
      const [a, b] = [out[0], out[out.length - 1]];
      if (a[0] !== b[0] || a[1] !== b[1])
        throw invalidArea("NOT_CLOSED", `ring ${ri} of polygon ${pi} is not closed (its last position must repeat its first)`);
      rings.push(out);
    }
    clean.push(rings);
  }
  const geometry: AreaGeometry =
    g.type === "Polygon" ? { type: "Polygon", coordinates: clean[0] } : { type: "MultiPolygon", coordinates: clean };
  return { geometry, json: JSON.stringify(geometry), bbox: [west, south, east, north], vertices };
}

/** The box as a GeoJSON Polygon (its edges are lines of constant longitude and latitude, as tile edges are). */
export function boxArea(west: number, south: number, east: number, north: number): ParsedArea {
  const geometry: AreaGeometry = {
    type: "Polygon",
    coordinates: [
      [
        [west, south],
        [east, south],
        [east, north],
        [west, north],
        [west, south],
      ],
    ],
  };
  return { geometry, json: JSON.stringify(geometry), bbox: [west, south, east, north], vertices: 5 };
}
