/**
 * GET /tiles/terrain/{z}/{x}/{y}.mvt: the terrain map as a Mapbox Vector Tile (layer
 * "terrain", one feature per merged terrain polygon with `terrain`, `area_sqm` (inside this
 * tile) and `confidence`), and /tiles/terrain.json, its TileJSON.
 *
 * The polygons are the stored grid pieces of the analysis zoom (the terrain classifier's zoom
 * at the tile's latitude) merged in PostGIS; ST_AsMVT encodes them where the database's
 * PostGIS has protobuf support (server PostgreSQL), and geojson-vt + vt-pbf encode the same
 * merged polygons where it has not (the embedded PGlite build).
 *
 * A tile at most TERRAIN_TILE_COMPUTE_LEVELS zooms above the analysis zoom analyses the
 * tiles it covers that are not analysed yet (charged like terrainFilter's tiles); up to
 * TERRAIN_TILE_STORED_LEVELS above, it shows what is stored; higher, it is empty.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import geojsonvt from "geojson-vt";
import vtpbf from "vt-pbf";
import { createHash } from "node:crypto";
import type { TerrainMapService } from "../terrain-map/terrain-map.service.js";
import type { PieceScope } from "../terrain-map/terrain-map.store.js";
import { keysInRange, type TileKey, tileBBox, validateTileKey } from "../tiles/tile-math.js";
import { sendError, sendImage } from "./respond.js";

export const TERRAIN_TILE_ROUTE = /^\/tiles\/terrain\/(\d{1,2})\/(\d{1,8})\/(\d{1,8})\.mvt$/;
export const TERRAIN_TILEJSON_ROUTE = "/tiles/terrain.json";
export const MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile";
/** Zooms above the analysis zoom at which a vector tile still analyses what it covers (4^1 = 4 tiles). */
export const TERRAIN_TILE_COMPUTE_LEVELS = 1;
/** Zooms above the analysis zoom at which a vector tile shows stored polygons (4^5 = 1,024 tiles). */
export const TERRAIN_TILE_STORED_LEVELS = 5;
const EXTENT = 4096;
const BUFFER = 64;

export interface TileRange {
  z: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** The analysis tiles a vector tile needs: its own area (and, deeper than the analysis zoom, the one tile holding it). */
export function analysisRange(k: TileKey, az: number): TileRange {
  if (k.z >= az) {
    const f = 2 ** (k.z - az);
    const x = Math.floor(k.x / f);
    const y = Math.floor(k.y / f);
    return { z: az, x0: x, x1: x, y0: y, y1: y };
  }
  const f = 2 ** (az - k.z);
  return { z: az, x0: k.x * f, x1: (k.x + 1) * f - 1, y0: k.y * f, y1: (k.y + 1) * f - 1 };
}

export interface TerrainTileDeps {
  maps: TerrainMapService;
  /** Charges the client before any work; throws RATE_LIMITED (with headers set) when over. */
  charge(cost: number): Promise<void>;
  /** Cost of analysing the range's tiles that are not stored yet. */
  computeCost(range: TileRange): Promise<number>;
}

export async function serveTerrainTile(
  req: IncomingMessage,
  res: ServerResponse,
  d: TerrainTileDeps,
  match: RegExpExecArray,
): Promise<number> {
  try {
    const k: TileKey = { z: Number(match[1]), x: Number(match[2]), y: Number(match[3]) };
    validateTileKey(k, { minZoom: 0, maxZoom: 24 });
    const [, s, , n] = tileBBox(k);
    const az = d.maps.defaultZoom((s + n) / 2);
    const range = analysisRange(k, az);
    const levels = az - k.z;
    let body: Uint8Array = new Uint8Array();
    if (levels <= TERRAIN_TILE_STORED_LEVELS) {
      const compute = levels <= TERRAIN_TILE_COMPUTE_LEVELS;
      await d.charge(1 + (compute ? await d.computeCost(range) : 0));
      if (compute) await d.maps.analyseTiles(keysInRange(az, range));
      const scope: PieceScope = { source: d.maps.source, modelVersion: d.maps.modelVersion, ...range };
      const out = await d.maps.vectorTile(scope, k.z, k.x, k.y);
      body = "mvt" in out ? out.mvt : encode(out.features, k);
    } else {
      await d.charge(1);
    }
    const etag = `"${d.maps.modelVersion}-${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`;
    return sendImage(req, res, body, MVT_CONTENT_TYPE, { etag, "cache-control": "public, max-age=300" });
  } catch (err) {
    return sendError(res, err);
  }
}

/** The merged polygons (EPSG:4326 GeoJSON) as a vector tile, encoded in JavaScript. */
function encode(
  features: { terrain: string; confidence: number; areaSqm: number; geometry: Record<string, unknown> }[],
  k: TileKey,
): Uint8Array {
  if (!features.length) return new Uint8Array();
  const index = geojsonvt(
    {
      type: "FeatureCollection",
      features: features.map((f) => ({
        type: "Feature",
        geometry: f.geometry as unknown as GeoJSON.Geometry,
        properties: { terrain: f.terrain, area_sqm: f.areaSqm, confidence: f.confidence },
      })),
    },
    { maxZoom: k.z, indexMaxZoom: 0, extent: EXTENT, buffer: BUFFER, tolerance: 0 },
  );
  const tile = index.getTile(k.z, k.x, k.y);
  if (!tile) return new Uint8Array();
  return vtpbf.fromGeojsonVt({ terrain: tile }, { version: 2, extent: EXTENT });
}

/** TileJSON 3.0.0 of the terrain layer. */
export function terrainTileJson(baseUrl: string, classes: string[], zoom: { minZoom: number; maxZoom: number }): Record<string, unknown> {
  return {
    tilejson: "3.0.0",
    name: "Groundview terrain",
    scheme: "xyz",
    tiles: [`${baseUrl}/tiles/terrain/{z}/{x}/{y}.mvt`],
    minzoom: Math.max(0, zoom.minZoom),
    maxzoom: Math.min(22, zoom.maxZoom),
    vector_layers: [
      {
        id: "terrain",
        description: `Terrain polygons: terrain (${classes.join(", ")}), area_sqm (inside the tile), confidence`,
        fields: { terrain: "String", area_sqm: "Number", confidence: "Number" },
      },
    ],
  };
}
