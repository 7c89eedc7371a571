import { Args, Query, Resolver } from "type-graphql";
import type { DatedLookup } from "../geo/dated.js";
import { regionBox } from "../terrain/region.args.js";
import { TerrainFilterArgs } from "./terrain-filter.args.js";
import type { TerrainFilterService } from "./terrain-filter.service.js";
import { TerrainAreaConnection } from "./terrain-filter.type.js";

@Resolver()
export class TerrainFilterResolver {
  constructor(private readonly at: DatedLookup<TerrainFilterService>) {}

  @Query((_returns) => TerrainAreaConnection, {
    description:
      "Areas in a box or a GeoJSON area whose terrain matches, from the tiles' terrain grids; cost grows with the tiles it covers",
  })
  async terrainFilter(@Args((_type) => TerrainFilterArgs) args: TerrainFilterArgs): Promise<TerrainAreaConnection> {
    const layer = await this.at(args.date, regionBox(args), args.zoom ?? undefined);
    return { ...(await layer.value.filter(args)), imageryDate: layer.date ?? null };
  }
}
