import { Args, Query, Resolver } from "type-graphql";
import type { DatedLookup } from "../geo/dated.js";
import type { LandscapeService } from "../landscape/landscape.service.js";
import { LandscapeArgs } from "../landscape/landscape.args.js";
import { Landscape } from "../landscape/landscape.type.js";

@Resolver((_of) => Landscape)
export class LandscapeResolver {
  constructor(private readonly at: DatedLookup<LandscapeService>) {}

  @Query((_returns) => Landscape, { description: "The generated ground-level landscape, terrain and latent for a point" })
  async landscape(@Args((_type) => LandscapeArgs) { lat, lon, zoom, date }: LandscapeArgs): Promise<Landscape> {
    const layer = await this.at(date, [lon, lat, lon, lat], zoom ?? undefined);
    return { ...(await layer.value.landscape(lat, lon, zoom)), imageryDate: layer.date ?? null };
  }
}
