/**
 * "Show me places that look like this": k-NN over stored latents with the cube extension's
 * GiST index (`<->` ordering), restricted to the current model version and tile source.
 */
import type { PrismaClient } from "../generated/prisma/client.js";
import type { TileAnalysisService } from "../analysis/tile-analysis.service.js";
import { tileRef } from "../geo/tile-ref.js";
import type { LandscapeService } from "../landscape/landscape.service.js";
import { terrainFromClass } from "../terrain/terrain.enum.js";
import { tileBBox } from "../tiles/tile-math.js";
import type { SimilarPlace } from "./similar-places.type.js";

interface Neighbour {
  z: number;
  x: number;
  y: number;
  dominant_terrain: string;
  distance: number;
}

export class SimilarPlacesService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly analysis: TileAnalysisService,
    private readonly landscape: LandscapeService,
  ) {}

  async similar(lat: number, lon: number, first: number, zoom?: number | null): Promise<SimilarPlace[]> {
    const key = this.landscape.tileAt(lat, lon, zoom);
    const { analysis: a } = await this.analysis.analyse(key);
    const rows = await this.prisma.$queryRaw<Neighbour[]>`
      SELECT z, x, y, dominant_terrain, (latent_cube <-> cube(${a.latent}::float8[]))::float8 AS distance
      FROM tile_analysis
      WHERE model_version = ${a.modelVersion} AND source = ${a.source} AND latent_cube IS NOT NULL
        AND NOT (z = ${key.z} AND x = ${key.x} AND y = ${key.y})
      ORDER BY latent_cube <-> cube(${a.latent}::float8[])
      LIMIT ${first}`;
    return rows.map((r) => {
      const k = { z: r.z, x: r.x, y: r.y };
      const [west, south, east, north] = tileBBox(k);
      return {
        lat: (south + north) / 2,
        lon: (west + east) / 2,
        distance: Number(r.distance),
        dominantTerrain: terrainFromClass(r.dominant_terrain),
        tile: tileRef(k),
        image: this.landscape.imageOf(a.modelVersion, k),
      };
    });
  }
}
