import type { AnalysisResult, TileAnalysis, TileAnalysisService } from "../analysis/tile-analysis.service.js";
import { type TileKey, tileForPoint, validatePoint, zoomForFootprint } from "../tiles/tile-math.js";
import { tileRef } from "../geo/tile-ref.js";
import type { GeneratedImage } from "../imaging/generated-image.type.js";
import type { TerrainScore } from "../terrain/terrain-score.type.js";
import type { Landscape } from "./landscape.type.js";
import { terrainFromClass } from "../terrain/terrain.enum.js";

/** A tile address with its GeoJSON footprint. */

export class LandscapeService {
  /** Absolute base of image URLs; set once the server listens. */
  baseUrl = "";

  constructor(
    readonly analysis: TileAnalysisService,
    /** The imagery date this service answers for (a dated layer); undefined: the undated source. */
    readonly date?: string,
  ) {}

  /** The zoom to use at a latitude when none is given. */
  defaultZoom(lat: number): number {
    return zoomForFootprint(lat, this.analysis.models.manifest.models.terrainClassifier.footprintM, this.analysis.tiles.source.zoom);
  }

  /** Validates the point and returns its tile at the requested or default zoom. */
  tileAt(lat: number, lon: number, zoom?: number | null): TileKey {
    const z = zoom ?? this.defaultZoom(Math.max(-85, Math.min(85, lat)));
    validatePoint(lat, lon, z, this.analysis.tiles.source.zoom);
    return tileForPoint(lat, lon, z);
  }

  async landscape(lat: number, lon: number, zoom?: number | null): Promise<Landscape> {
    return this.toLandscape(await this.analysis.analyse(this.tileAt(lat, lon, zoom)));
  }

  /** The generated landscape of a tile as clients see it: its stable URL, type and size. */
  imageOf(modelVersion: string, k: TileKey): GeneratedImage {
    const [height, width] = this.analysis.models.manifest.models.generator.size;
    const url = `${this.baseUrl}/landscapes/${encodeURIComponent(modelVersion)}/${k.z}/${k.x}/${k.y}.png${this.date ? `?date=${this.date}` : ""}`;
    return { url, mimeType: "image/png", width, height };
  }

  terrainScores(a: TileAnalysis): TerrainScore[] {
    const classes = this.analysis.models.manifest.models.terrainClassifier.classes;
    return a.terrain
      .map((p, i) => ({ terrain: terrainFromClass(classes[i]), probability: p }))
      .sort((x, y) => y.probability - x.probability);
  }

  toLandscape({ analysis: a, cached }: AnalysisResult): Landscape {
    return {
      terrain: this.terrainScores(a),
      dominantTerrain: terrainFromClass(a.dominantTerrain),
      latent: a.latent,
      image: this.imageOf(a.modelVersion, a.key),
      modelVersion: a.modelVersion,
      cached,
      tile: tileRef(a.key),
    };
  }
}
