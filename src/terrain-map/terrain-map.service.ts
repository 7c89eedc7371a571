/**
 * Terrain maps of a box or a parcel: the tiles it covers analysed (stored results reused, the
 * rest computed), then their grid pieces merged in PostGIS (terrain-map.store.ts). Shared by
 * terrainFilter, terrainSummary and the terrain vector tiles.
 */
import type { TileAnalysisService } from "../analysis/tile-analysis.service.js";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError, outOfRange } from "../errors/errors.js";
import { boxArea, invalidArea, type ParsedArea, parseArea } from "../geo/area-input.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import { keysInRange, type TileKey, tilesInBox, validateZoom, zoomForFootprint } from "../tiles/tile-math.js";
import type { TerrainGrid } from "../terrain/grid.js";
import { boxAreas } from "./box-areas.js";
import { type MergedArea, type PieceScope, TerrainMapStore, type TerrainShare } from "./terrain-map.store.js";

/** A box or a parcel, as the GraphQL arguments give it. */
export interface RegionInput {
  bbox?: { west: number; south: number; east: number; north: number } | null;
  area?: Record<string, unknown> | null;
  zoom?: number | null;
}

export interface Region {
  area: ParsedArea;
  /** True for a GeoJSON area, false for a box. */
  parcel: boolean;
  z: number;
  /** The tiles to analyse: every tile of the box (of a parcel's bounding box). */
  keys: TileKey[];
  scope: PieceScope;
}

export interface RegionStats {
  tilesAnalysed: number;
  tilesComputed: number;
  /** The analysed tiles' terrain grids, by tile key string. */
  grids: Map<string, TerrainGrid>;
}

const TERRAIN_MAP_LIMIT = (maxTiles: number) => ({ maxTiles, setting: "TERRAIN_FILTER_MAX_TILES" });

export class TerrainMapService {
  private readonly store: TerrainMapStore;
  private mvtInDatabase: Promise<boolean> | undefined;

  constructor(
    prisma: PrismaClient,
    private readonly analysis: TileAnalysisService,
    readonly maxTiles: number,
  ) {
    this.store = new TerrainMapStore(prisma);
    this.ready = this.store.init();
  }

  private readonly ready: Promise<void>;

  get classes(): string[] {
    return this.analysis.models.manifest.models.terrainClassifier.classes;
  }

  /**
   * Before a query of the stored pieces: the store is initialised and every computed row is
   * written (a box's terrainFilter leaves its rows to be written behind its answer).
   */
  private async storedPieces(): Promise<void> {
    await this.ready;
    await this.analysis.flush();
  }

  /** The zoom the terrain classifier is served at, at a latitude. */
  defaultZoom(lat: number): number {
    return zoomForFootprint(lat, this.analysis.models.manifest.models.terrainClassifier.footprintM, this.analysis.tiles.source.zoom);
  }

  /**
   * Validates a box or a GeoJSON area and lists the tiles it needs, within the tile limit
   * (terrain maps by default; area jobs give theirs, and then a box over it is AREA_TOO_LARGE too).
   */
  async region(a: RegionInput, limit: { maxTiles: number; setting: string } = TERRAIN_MAP_LIMIT(this.maxTiles)): Promise<Region> {
    if (a.bbox && a.area) throw new GroundviewError(ErrorCode.BAD_USER_INPUT, "give either bbox or area, not both", { field: "area" });
    let area: ParsedArea;
    if (a.bbox) {
      const { west, south, east, north } = a.bbox;
      if (!(west < east))
        throw outOfRange("bbox", "bbox.west must be less than bbox.east (boxes crossing the antimeridian are not supported)");
      if (!(south < north)) throw outOfRange("bbox", "bbox.south must be less than bbox.north");
      area = boxArea(west, south, east, north);
    } else if (a.area) {
      area = parseArea(a.area);
    } else {
      throw new GroundviewError(ErrorCode.BAD_USER_INPUT, "give a bbox or an area (GeoJSON Polygon or MultiPolygon)", { field: "bbox" });
    }
    const parcel = !a.bbox;
    const [west, south, east, north] = area.bbox;
    const z = a.zoom ?? this.defaultZoom((south + north) / 2);
    validateZoom(z, this.analysis.tiles.source.zoom);
    const r = tilesInBox(west, south, east, north, z);
    const count = (r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1);
    if (count > limit.maxTiles) {
      const code = parcel || limit.setting !== "TERRAIN_FILTER_MAX_TILES" ? ErrorCode.AREA_TOO_LARGE : ErrorCode.BBOX_TOO_LARGE;
      const what = parcel ? "the area's bounding box" : "the box";
      throw new GroundviewError(code, `${what} covers ${count} tiles at zoom ${z}; the limit is ${limit.maxTiles} (${limit.setting})`, {
        limit: limit.maxTiles,
        tiles: count,
        zoom: z,
      });
    }
    if (parcel) {
      const problem = await this.store.validity(area.json);
      if (problem) throw invalidArea(/self-intersection|ring self-intersection/i.test(problem) ? "SELF_INTERSECTION" : "INVALID", problem);
    }
    const keys = keysInRange(z, r);
    const scope: PieceScope = { source: this.analysis.source, modelVersion: this.analysis.models.version, z, ...r };
    return { area, parcel, z, keys, scope };
  }

  /**
   * The merged areas of `terrains` in the region: for a box, from the analysed tiles' grids
   * (box-areas.ts, no database work); for a parcel, in PostGIS from the stored pieces.
   */
  async areas(region: Region, stats: RegionStats, terrains: string[], minConfidence: number, minAreaSqm: number): Promise<MergedArea[]> {
    if (!region.parcel) {
      const [west, south, east, north] = region.area.bbox;
      return boxAreas({
        ...region.scope,
        grids: stats.grids,
        box: [west, south, east, north],
        classes: this.classes,
        terrains,
        minConfidence,
        minAreaSqm,
      });
    }
    await this.storedPieces();
    return this.store.areas(region.scope, region.area.json, terrains, minConfidence, minAreaSqm);
  }

  async summary(region: Region): Promise<{ clipAreaSqm: number; terrains: TerrainShare[] }> {
    await this.storedPieces();
    return this.store.summary(region.scope, region.area.json);
  }

  /** ST_AsMVT when the database has it; otherwise the merged features for a JavaScript encoder. */
  async vectorTile(
    scope: PieceScope,
    z: number,
    x: number,
    y: number,
  ): Promise<{ mvt: Uint8Array } | { features: Awaited<ReturnType<TerrainMapStore["mergedFeatures"]>> }> {
    await this.storedPieces();
    this.mvtInDatabase ??= this.store.canEncodeMvt();
    if (await this.mvtInDatabase) return { mvt: await this.store.mvt(scope, z, x, y) };
    return { features: await this.store.mergedFeatures(scope, z, x, y) };
  }

  get source(): string {
    return this.analysis.source;
  }

  get modelVersion(): string {
    return this.analysis.models.version;
  }

  /**
   * Analyses tiles (a region's, a vector tile's, an area job chunk's); unless `writeBehind`,
   * waits until their pieces are stored (what reads them from the database needs that).
   */
  async analyseTiles(keys: TileKey[], opts: { writeBehind?: boolean } = {}): Promise<RegionStats> {
    const results = await this.analysis.analyseMany(keys, { terrainOnly: true });
    let computed = 0;
    const grids = new Map<string, TerrainGrid>();
    for (const [id, v] of results) {
      grids.set(id, v.analysis.grid);
      if (!v.cached) computed++;
    }
    // Also when nothing was computed here: another request may have computed these tiles and left their rows to be written.
    if (!opts.writeBehind) await this.analysis.flush();
    return { tilesAnalysed: results.size, tilesComputed: computed, grids };
  }
}
