import { Args, Ctx, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { RegionArgs } from "../terrain/region.args.js";
import { TerrainSummary } from "./terrain-summary.type.js";

@Resolver()
export class TerrainSummaryResolver {
  @Query((_returns) => TerrainSummary, {
    description: "Each terrain's area and share inside a box or a GeoJSON area; cost grows with the tiles it covers",
  })
  async terrainSummary(@Args((_type) => RegionArgs) args: RegionArgs, @Ctx() ctx: GraphQLContext): Promise<TerrainSummary> {
    return ctx.models().terrainSummary.summary(args);
  }
}
