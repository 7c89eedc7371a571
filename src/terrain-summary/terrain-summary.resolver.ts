import { Args, Ctx, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { DatedRegionArgs, regionBox } from "../terrain/region.args.js";
import { TerrainSummary } from "./terrain-summary.type.js";

@Resolver()
export class TerrainSummaryResolver {
  @Query((_returns) => TerrainSummary, {
    description: "Each terrain's area and share inside a box or a GeoJSON area; cost grows with the tiles it covers",
  })
  async terrainSummary(@Args((_type) => DatedRegionArgs) args: DatedRegionArgs, @Ctx() ctx: GraphQLContext): Promise<TerrainSummary> {
    const layer = await ctx.modelsAt(args.date, regionBox(args), args.zoom ?? undefined);
    return { ...(await layer.value.terrainSummary.summary(args)), imageryDate: layer.date ?? null };
  }
}
