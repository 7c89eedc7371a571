/**
 * terrainFilter: every tile in a box analysed (stored results reused, the rest computed with
 * bounded concurrency), tiles whose requested terrain reaches minConfidence merged with their
 * 4-connected matching neighbours into areas (turf union), largest first, paginated.
 */
import { area as turfArea, featureCollection, polygon, union } from "@turf/turf";
import type { Feature, MultiPolygon, Polygon } from "geojson";
import type { TileAnalysisService } from "../analysis/tile-analysis.service.js";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError, outOfRange } from "../errors/errors.js";
import type { LandscapeService } from "../landscape/landscape.service.js";
import type { Terrain } from "../landscape/terrain.enum.js";
import { type TileKey, tileBoundsGeometry, tileKeyString, tilesInBox, validateZoom } from "../tiles/tile-math.js";
import type { TerrainFilterArgs } from "./terrain-filter.args.js";
import type { TerrainArea, TerrainAreaConnection } from "./terrain-filter.type.js";

/** 4-connected components of a set of tiles on one zoom's grid. */
export function components(keys: TileKey[]): TileKey[][] {
  const ids = new Map(keys.map((k) => [`${k.x},${k.y}`, k]));
  const seen = new Set<string>();
  const out: TileKey[][] = [];
  for (const k of keys) {
    const id = `${k.x},${k.y}`;
    if (seen.has(id)) continue;
    const comp: TileKey[] = [];
    const stack = [k];
    seen.add(id);
    while (stack.length) {
      const c = stack.pop() as TileKey;
      comp.push(c);
      for (const [dx, dy] of [
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
      ]) {
        const nid = `${c.x + dx},${c.y + dy}`;
        const n = ids.get(nid);
        if (n && !seen.has(nid)) {
          seen.add(nid);
          stack.push(n);
        }
      }
    }
    out.push(comp);
  }
  return out;
}

/** One merged geometry for a connected group of tiles. */
export function mergeTiles(keys: TileKey[]): Polygon | MultiPolygon {
  const polys = keys.map((k) => polygon(tileBoundsGeometry(k).coordinates));
  if (polys.length === 1) return polys[0].geometry;
  const merged = union(featureCollection(polys)) as Feature<Polygon | MultiPolygon>;
  return merged.geometry;
}

const encodeCursor = (i: number) => Buffer.from(`area:${i}`).toString("base64url");
function decodeCursor(c: string): number {
  const m = /^area:(\d+)$/.exec(Buffer.from(c, "base64url").toString());
  if (!m) throw new GroundviewError(ErrorCode.BAD_USER_INPUT, "after is not a cursor from this connection", { field: "after" });
  return Number(m[1]);
}

export class TerrainFilterService {
  constructor(
    private readonly analysis: TileAnalysisService,
    private readonly landscape: LandscapeService,
    readonly maxTiles: number,
  ) {}

  async filter(a: TerrainFilterArgs): Promise<TerrainAreaConnection> {
    const { west, south, east, north } = a.bbox;
    if (!(west < east))
      throw outOfRange("bbox", "bbox.west must be less than bbox.east (boxes crossing the antimeridian are not supported)");
    if (!(south < north)) throw outOfRange("bbox", "bbox.south must be less than bbox.north");
    const z = a.zoom ?? this.landscape.defaultZoom((south + north) / 2);
    validateZoom(z, this.analysis.tiles.source.zoom);
    const r = tilesInBox(west, south, east, north, z);
    const count = (r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1);
    if (count > this.maxTiles) {
      throw new GroundviewError(ErrorCode.BBOX_TOO_LARGE, `the box covers ${count} tiles at zoom ${z}; the limit is ${this.maxTiles}`, {
        limit: this.maxTiles,
        tiles: count,
        zoom: z,
      });
    }
    const keys: TileKey[] = [];
    for (let x = r.x0; x <= r.x1; x++) for (let y = r.y0; y <= r.y1; y++) keys.push({ z, x, y });
    const results = await this.analysis.analyseMany(keys);
    const classes = this.analysis.models.manifest.models.terrainClassifier.classes;
    const areas: TerrainArea[] = [];
    for (const terrain of new Set(a.terrain)) {
      const idx = classes.indexOf(terrain);
      const matching = keys.filter((k) => (results.get(tileKeyString(k))?.analysis.terrain[idx] ?? -1) >= a.minConfidence);
      for (const comp of components(matching)) {
        const geometry = mergeTiles(comp);
        const areaSqm = turfArea(geometry);
        if (areaSqm < a.minAreaSqm) continue;
        const conf = comp.reduce((s, k) => s + (results.get(tileKeyString(k))?.analysis.terrain[idx] ?? 0), 0) / comp.length;
        areas.push({
          geometry: geometry as unknown as Record<string, unknown>,
          terrain: terrain as Terrain,
          areaSqm,
          meanConfidence: conf,
          tileCount: comp.length,
        });
      }
    }
    areas.sort((p, q) => q.areaSqm - p.areaSqm || p.terrain.localeCompare(q.terrain) || q.meanConfidence - p.meanConfidence);
    const start = a.after ? decodeCursor(a.after) + 1 : 0;
    const page = areas.slice(start, start + a.first);
    const edges = page.map((node, i) => ({ cursor: encodeCursor(start + i), node }));
    let computed = 0;
    for (const v of results.values()) if (!v.cached) computed++;
    return {
      edges,
      pageInfo: {
        hasNextPage: start + page.length < areas.length,
        hasPreviousPage: start > 0,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      totalCount: areas.length,
      featureCollection: {
        type: "FeatureCollection",
        features: page.map((n) => ({
          type: "Feature",
          geometry: n.geometry,
          properties: { terrain: n.terrain, areaSqm: n.areaSqm, meanConfidence: n.meanConfidence, tileCount: n.tileCount },
        })),
      },
      zoom: z,
      tilesAnalysed: results.size,
      tilesComputed: computed,
    };
  }
}
