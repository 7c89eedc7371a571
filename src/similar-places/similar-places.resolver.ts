import { Max, Min } from "class-validator";
import { Args, ArgsType, Field, Int, Query, Resolver } from "type-graphql";
import { LandscapeArgs } from "../landscape/landscape.args.js";
import type { SimilarPlacesService } from "./similar-places.service.js";
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
  /** `service()` throws MODEL_UNAVAILABLE without models. */
  constructor(private readonly service: () => SimilarPlacesService) {}

  @Query((_returns) => [SimilarPlace], { description: "Analysed places whose latent vectors are nearest to this point's" })
  async similarPlaces(@Args((_type) => SimilarPlacesArgs) a: SimilarPlacesArgs): Promise<SimilarPlace[]> {
    return this.service().similar(a.lat, a.lon, a.first, a.zoom);
  }
}
