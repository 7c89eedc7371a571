import { Args, Ctx, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { LandscapeArgs } from "./landscape.args.js";
import { Landscape } from "./landscape.type.js";

@Resolver((_of) => Landscape)
export class LandscapeResolver {
  @Query((_returns) => Landscape, { description: "The generated ground-level landscape, terrain and latent for a point" })
  async landscape(@Args((_type) => LandscapeArgs) { lat, lon, zoom }: LandscapeArgs, @Ctx() ctx: GraphQLContext): Promise<Landscape> {
    return ctx.models().landscape.landscape(lat, lon, zoom);
  }
}
