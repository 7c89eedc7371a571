import { Args, Query, Resolver } from "type-graphql";
import { PointArgs } from "../geo/point.args.js";
import type { TileService } from "./tile.service.js";
import { Tile } from "./tile.type.js";

@Resolver((_of) => Tile)
export class TileResolver {
  constructor(private readonly tiles: TileService) {}

  @Query((_returns) => Tile, {
    description: "Metadata of the satellite tile at a point; does not fetch it",
  })
  async tile(@Args((_type) => PointArgs) { lat, lon, zoom }: PointArgs): Promise<Tile> {
    return this.tiles.describe(lat, lon, zoom);
  }
}
