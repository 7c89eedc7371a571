import type { TileService } from "../tile/tile.service.js";

/** What every resolver gets: the services, built once at start-up. */
export interface GraphQLContext {
  tiles: TileService;
}
