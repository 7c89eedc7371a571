/** terrainSummary: each terrain's area and share inside a box or a parcel, from the merged terrain grids. */
import type { Terrain } from "../terrain/terrain.enum.js";
import type { RegionInput, TerrainMapService } from "../terrain-map/terrain-map.service.js";
import type { TerrainSummary } from "./terrain-summary.type.js";

export class TerrainSummaryService {
  constructor(private readonly maps: TerrainMapService) {}

  async summary(a: RegionInput): Promise<TerrainSummary> {
    const region = await this.maps.region(a);
    const stats = await this.maps.analyseTiles(region.keys);
    const { clipAreaSqm, terrains } = await this.maps.summary(region);
    const shares = terrains
      .filter((t) => t.areaSqm > 0)
      .map((t) => ({
        terrain: t.terrain as Terrain,
        areaSqm: t.areaSqm,
        share: clipAreaSqm > 0 ? t.areaSqm / clipAreaSqm : 0,
        meanConfidence: t.meanConfidence,
      }))
      .sort((p, q) => q.areaSqm - p.areaSqm || p.terrain.localeCompare(q.terrain));
    return {
      areaSqm: clipAreaSqm,
      classifiedSqm: shares.reduce((s, t) => s + t.areaSqm, 0),
      terrains: shares,
      zoom: region.z,
      ...stats,
    };
  }
}
