import { Max, Min } from "class-validator";
import { Args, ArgsType, Ctx, Field, Int, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { LandscapeArgs } from "../landscape/landscape.args.js";
import { SimilarPlace } from "./similar-places.type.js";

@ArgsType()
export class SimilarPlacesArgs extends LandscapeArgs {
  @Field((_type) => Int, { defaultValue: 10 })
  @Min(1)
  @Max(100)
  first!: number;
}

@Resolver()
export class SimilarPlacesResolver {
  @Query((_returns) => [SimilarPlace], { description: "Analysed places whose latent vectors are nearest to this point's" })
  async similarPlaces(@Args((_type) => SimilarPlacesArgs) a: SimilarPlacesArgs, @Ctx() ctx: GraphQLContext): Promise<SimilarPlace[]> {
    return ctx.models().similarPlaces.similar(a.lat, a.lon, a.first, a.zoom);
  }
}
