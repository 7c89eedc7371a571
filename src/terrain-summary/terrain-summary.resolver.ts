import { Args, Query, Resolver } from "type-graphql";
import type { DatedLookup } from "../geo/dated.js";
import { DatedRegionArgs, regionBox } from "../terrain/region.args.js";
import type { TerrainSummaryService } from "./terrain-summary.service.js";
import { TerrainSummary } from "./terrain-summary.type.js";

@Resolver()
export class TerrainSummaryResolver {
  constructor(private readonly at: DatedLookup<TerrainSummaryService>) {}

  @Query((_returns) => TerrainSummary, {
    description: "Each terrain's area and share inside a box or a GeoJSON area; cost grows with the tiles it covers",
  })
  async terrainSummary(@Args((_type) => DatedRegionArgs) args: DatedRegionArgs): Promise<TerrainSummary> {
    const layer = await this.at(args.date, regionBox(args), args.zoom ?? undefined);
    return { ...(await layer.value.summary(args)), imageryDate: layer.date ?? null };
  }
}
