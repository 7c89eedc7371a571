import { Args, Ctx, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { regionBox } from "../terrain/region.args.js";
import { TerrainFilterArgs } from "./terrain-filter.args.js";
import { TerrainAreaConnection } from "./terrain-filter.type.js";

@Resolver()
export class TerrainFilterResolver {
  @Query((_returns) => TerrainAreaConnection, {
    description:
      "Areas in a box or a GeoJSON area whose terrain matches, from the tiles' terrain grids; cost grows with the tiles it covers",
  })
  async terrainFilter(
    @Args((_type) => TerrainFilterArgs) args: TerrainFilterArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<TerrainAreaConnection> {
    const layer = await ctx.modelsAt(args.date, regionBox(args), args.zoom ?? undefined);
    return { ...(await layer.value.terrainFilter.filter(args)), imageryDate: layer.date ?? null };
  }
}
