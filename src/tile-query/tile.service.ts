import type { TileCache } from "../tiles/tile-cache.js";
import { tileRef } from "../geo/tile-ref.js";
import { tileForPoint, tileKeyString, validatePoint } from "../tiles/tile-math.js";
import type { Tile } from "./tile.type.js";

/** Tile metadata for GraphQL, on top of the tile cache. */
export class TileService {
  /** Absolute base of the links this service hands out; set once the server listens. */
  baseUrl = "";

  constructor(
    readonly cache: TileCache,
    readonly defaultZoom: number,
  ) {}

  /** The zoom to use when the client gives none: the default clamped into the source's range. */
  zoomOrDefault(zoom: number | undefined | null): number {
    const { minZoom, maxZoom } = this.cache.source.zoom;
    return zoom ?? Math.min(Math.max(this.defaultZoom, minZoom), maxZoom);
  }

  async describe(lat: number, lon: number, zoom?: number | null): Promise<Tile> {
    const z = this.zoomOrDefault(zoom);
    validatePoint(lat, lon, z, this.cache.source.zoom);
    const key = tileForPoint(lat, lon, z);
    const { state, tile } = await this.cache.state(key);
    return {
      ...tileRef(key),
      source: this.cache.source.id,
      attribution: this.cache.source.attribution,
      url: `${this.baseUrl}/tiles/satellite/${tileKeyString(key)}`,
      cached: state !== "absent",
      etag: tile ? `"${tile.contentHash}"` : null,
      fetchedAt: tile?.fetchedAt ?? null,
      expiresAt: tile?.expiresAt ?? null,
    };
  }
}
