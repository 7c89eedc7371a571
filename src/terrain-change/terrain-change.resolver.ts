import { Args, Query, Resolver } from "type-graphql";
import type { DatedLookup } from "../geo/dated.js";
import { regionBox } from "../terrain/region.args.js";
import { TerrainChangeArgs } from "./terrain-change.args.js";
import type { ChangeLayer, TerrainChangeService } from "./terrain-change.service.js";
import { TerrainChange } from "./terrain-change.type.js";

@Resolver()
export class TerrainChangeResolver {
  constructor(
    private readonly at: DatedLookup<ChangeLayer>,
    private readonly service: TerrainChangeService,
  ) {}

  @Query((_returns) => TerrainChange, {
    description:
      "Where the terrain changed between two imagery dates of a box or a GeoJSON area, at the terrain grid's resolution; " +
      "cost grows with the tiles it covers (analysed on both dates)",
  })
  async terrainChange(@Args((_type) => TerrainChangeArgs) args: TerrainChangeArgs): Promise<TerrainChange> {
    const box = regionBox(args);
    // Both dates must be given and exist (no "latest" here): IMAGERY_DATE_NOT_FOUND names the ones there are.
    const [from, to] = await Promise.all([this.at(args.from, box, undefined, "from"), this.at(args.to, box, undefined, "to")]);
    return this.service.change(args, { date: from.date!, layer: from.value }, { date: to.date!, layer: to.value });
  }
}
