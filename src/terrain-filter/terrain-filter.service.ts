/**
 * terrainFilter: the tiles of a box or a parcel analysed, their terrain grids' pieces of the
 * requested terrains (mean probability ≥ minConfidence) merged across tile borders in PostGIS
 * into areas, clipped to the box or parcel, largest first, paginated.
 */
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { Terrain } from "../terrain/terrain.enum.js";
import type { TerrainMapService } from "../terrain-map/terrain-map.service.js";
import type { TerrainFilterArgs } from "./terrain-filter.args.js";
import type { TerrainArea, TerrainAreaConnection } from "./terrain-filter.type.js";

const encodeCursor = (i: number) => Buffer.from(`area:${i}`).toString("base64url");
function decodeCursor(c: string): number {
  const m = /^area:(\d+)$/.exec(Buffer.from(c, "base64url").toString());
  if (!m) throw new GroundviewError(ErrorCode.BAD_USER_INPUT, "after is not a cursor from this connection", { field: "after" });
  return Number(m[1]);
}

export class TerrainFilterService {
  constructor(private readonly maps: TerrainMapService) {}

  async filter(a: TerrainFilterArgs): Promise<TerrainAreaConnection> {
    const region = await this.maps.region(a);
    // Rows are written behind the answer: a box is merged from the grids, and a parcel's query of the stored pieces waits for them.
    const stats = await this.maps.analyseTiles(region.keys, { writeBehind: true });
    const merged = await this.maps.areas(region, stats, [...new Set(a.terrain)], a.minConfidence, a.minAreaSqm);
    const areas: TerrainArea[] = merged.map((m) => ({ ...m, terrain: m.terrain as Terrain }));
    areas.sort((p, q) => q.areaSqm - p.areaSqm || p.terrain.localeCompare(q.terrain) || q.meanConfidence - p.meanConfidence);
    const start = a.after ? decodeCursor(a.after) + 1 : 0;
    const page = areas.slice(start, start + a.first);
    const edges = page.map((node, i) => ({ cursor: encodeCursor(start + i), node }));
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
        features: page.map(({ geometry, ...properties }) => ({ type: "Feature", geometry, properties })),
      },
      zoom: region.z,
      tilesAnalysed: stats.tilesAnalysed,
      tilesComputed: stats.tilesComputed,
    };
  }
}
