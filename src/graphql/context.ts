import type { AreaJobsService } from "../area-jobs/area-jobs.service.js";
import type { TileAnalysisService } from "../analysis/tile-analysis.service.js";
import type { TileCache } from "../tiles/tile-cache.js";
import type { LandscapeService } from "../landscape/landscape.service.js";
import type { SimilarPlacesService } from "../similar-places/similar-places.service.js";
import type { TerrainFilterService } from "../terrain-filter/terrain-filter.service.js";
import type { TerrainSummaryService } from "../terrain-summary/terrain-summary.service.js";
import type { TerrainMapService } from "../terrain-map/terrain-map.service.js";
import type { TileService } from "../tile/tile.service.js";
import type { PhotoValidationService } from "../validate-photo/validate-photo.service.js";
import type { RequestLimits } from "../limits/limits.plugin.js";
import type { ImageryService, Layer, LayerServices } from "../imagery/imagery.service.js";
import type { Box } from "../imagery/imagery-layers.js";
import type { TerrainChangeService } from "../terrain-change/terrain-change.service.js";

/** The services that need the models; absent when models/ could not be loaded. */
export interface ModelServices {
  /** The layer's imagery (its tile cache) and per-tile model results. */
  tiles: TileCache;
  analysis: TileAnalysisService;
  landscape: LandscapeService;
  terrainFilter: TerrainFilterService;
  terrainSummary: TerrainSummaryService;
  /** Terrain maps (box or parcel → merged polygons), behind terrainFilter, terrainSummary and the vector tiles. */
  terrainMap: TerrainMapService;
  photos: PhotoValidationService;
  similarPlaces: SimilarPlacesService;
  /** prepareArea / areaJob: background analysis of large areas. */
  areaJobs: AreaJobsService;
}

/** What every resolver gets: the services, built once at start-up. */
export interface GraphQLContext {
  tiles: TileService;
  /** Dated imagery: the dates a source has, and each date's tiles. */
  imagery: ImageryService;
  /** The undated source's model services, or a MODEL_UNAVAILABLE error. */
  models(): ModelServices;
  /**
   * The model services of the imagery that answers over `box`: the date given (INVALID_DATE,
   * IMAGERY_DATE_NOT_FOUND), else the latest date covering it, else the undated source.
   */
  modelsAt(date: string | null | undefined, box: Box, z?: number, field?: string): Promise<Layer<LayerServices>>;
  /** terrainChange between two dates' services. */
  terrainChange: TerrainChangeService;
  /** This request's client, cost and rate-limit charge (per request; absent outside HTTP). */
  limits?: RequestLimits;
}
