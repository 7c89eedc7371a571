import { Args, Ctx, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { LandscapeArgs } from "./landscape.args.js";
import { Landscape } from "./landscape.type.js";

@Resolver((_of) => Landscape)
export class LandscapeResolver {
  @Query((_returns) => Landscape, { description: "The generated ground-level landscape, terrain and latent for a point" })
  async landscape(@Args((_type) => LandscapeArgs) { lat, lon, zoom, date }: LandscapeArgs, @Ctx() ctx: GraphQLContext): Promise<Landscape> {
    const layer = await ctx.modelsAt(date, [lon, lat, lon, lat], zoom ?? undefined);
    return { ...(await layer.value.landscape.landscape(lat, lon, zoom)), imageryDate: layer.date ?? null };
  }
}
