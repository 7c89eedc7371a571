import { Args, Ctx, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { PointArgs } from "../geo/point.args.js";
import { Tile } from "./tile.type.js";

@Resolver((_of) => Tile)
export class TileResolver {
  @Query((_returns) => Tile, {
    description: "Metadata of the satellite tile at a point; does not fetch it",
  })
  async tile(@Args((_type) => PointArgs) { lat, lon, zoom }: PointArgs, @Ctx() ctx: GraphQLContext): Promise<Tile> {
    return ctx.tiles.describe(lat, lon, zoom);
  }
}
