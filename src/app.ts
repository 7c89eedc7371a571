/** Wires config -> database -> tile cache -> schema -> HTTP server. Used by index.ts and tests. */
import path from "node:path";
import "reflect-metadata";
import type { AddressInfo } from "node:net";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { DEFAULT_TILE_SOURCE, type Settings } from "./config/settings.js";
import { type Database, openDatabase } from "./db/database.js";
import { TileAnalysisService } from "./analysis/tile-analysis.service.js";
import { ErrorCode } from "./errors/error-codes.js";
import { GroundviewError } from "./errors/errors.js";
import type { GraphQLContext } from "./graphql/context.js";
import type { Box, Dated, DatedLookup } from "./geo/dated.js";
import { ModelRegistry } from "./inference/model-registry.js";
import { LandscapeService } from "./landscape/landscape.service.js";
import { SimilarPlacesService } from "./similar-places/similar-places.service.js";
import { TerrainFilterService } from "./terrain-filter/terrain-filter.service.js";
import { TerrainSummaryService } from "./terrain-summary/terrain-summary.service.js";
import { TerrainMapService } from "./terrain-map/terrain-map.service.js";
import { AreaJobQueue } from "./area-jobs/area-job.queue.js";
import { type AreaMaps, AreaJobsService } from "./area-jobs/area-jobs.service.js";
import { PhotoValidationService } from "./validate-photo/validate-photo.service.js";
import { formatError } from "./graphql/format-error.js";
import { buildGroundviewSchema } from "./graphql/schema.js";
import { createHttpServer } from "./http/server.js";
import { Metrics } from "./metrics/metrics.js";
import { TileService } from "./tile-query/tile.service.js";
import { createTileSource } from "./tiles/sources/source-factory.js";
import { TileCache } from "./tiles/tile-cache.js";
import { TileStore } from "./tiles/tile-store.js";
import type { TileSource } from "./tiles/sources/tile-source.js";
import { dateOfLayer, layerId } from "./imagery/imagery-date.js";
import { ImageryLayers, recordLayer } from "./imagery/imagery-layers.js";
import { ChangeDetector } from "./terrain-change/change-detector.js";
import { TerrainChangeService } from "./terrain-change/terrain-change.service.js";
import { ImageryService } from "./imagery/imagery.service.js";
import { AreaJobsResolver } from "./area-jobs/area-jobs.resolver.js";
import { ImageryResolver } from "./imagery/imagery.resolver.js";
import { LandscapeResolver } from "./landscape-query/landscape.resolver.js";
import { SimilarPlacesResolver } from "./similar-places/similar-places.resolver.js";
import { TerrainChangeResolver } from "./terrain-change/terrain-change.resolver.js";
import { TerrainFilterResolver } from "./terrain-filter/terrain-filter.resolver.js";
import { TerrainSummaryResolver } from "./terrain-summary/terrain-summary.resolver.js";
import { TileResolver } from "./tile-query/tile.resolver.js";
import { ValidatePhotoResolver } from "./validate-photo/validate-photo.resolver.js";
import { latestSample, loadSample, sampleFiles, type SampleLoadReport } from "./tiles/sample-area.js";
import { ApiKeyStore } from "./limits/api-keys.js";
import { armorProtections, costLimitPlugin, databaseCostProbe } from "./limits/limits.plugin.js";
import { RateLimits } from "./limits/rate-limits.js";

/** Zoom of the `tile` metadata query when none is given; the model queries pick theirs from the terrain model's footprint. */
export const DEFAULT_ZOOM = 17;

/** The services that need the models (of the undated source); absent when models/ could not be loaded. */
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

/** The services of one imagery layer (a date, or the undated source): all but the process-wide area jobs. */
export type LayerServices = Omit<ModelServices, "areaJobs">;

export interface App {
  readonly url: string;
  readonly models?: ModelServices;
  /** Why the models are not loaded, when they are not. */
  readonly modelError?: string;
  readonly db: Database;
  readonly tileCache: TileCache;
  readonly metrics: Metrics;
  /** The API keys this service checks (revoking through it takes effect at once). */
  readonly apiKeys: ApiKeyStore;
  /** The bundled sample area, when it was loaded under the default source. */
  readonly sampleArea?: SampleLoadReport;
  /** Resolves once every computed analysis row, of every imagery layer, has been written (they are written behind the answers). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export async function startApp(settings: Settings): Promise<App> {
  const metrics = new Metrics();
  const db = await openDatabase({
    databaseUrl: settings.databaseUrl,
    dataDir: settings.dataDir,
    poolSize: settings.databasePoolSize,
  });
  const store = new TileStore(db.prisma);
  const source = createTileSource(settings, settings.tileSource === "imported" ? await store.pinnedCoverage("imported") : undefined);
  const sampleArea = await loadSampleArea(settings, store, source.id);
  const makeCache = (src: TileSource) =>
    new TileCache(
      store,
      src,
      {
        ttlSeconds: settings.tileTtlSeconds,
        negativeTtlSeconds: settings.tileNegativeTtlSeconds,
        maxPixels: settings.tileMaxPixels,
        memoryBytes: settings.memoryCacheBytes,
        leaseTtlMs: settings.leaseTtlMs,
        leasePollMs: settings.leasePollMs,
        concurrency: settings.upstreamConcurrency,
        timeoutMs: settings.upstreamTimeoutMs,
        retries: settings.upstreamRetries,
        retryBaseMs: settings.upstreamRetryBaseMs,
        maxBytes: settings.tileMaxBytes,
        previewSize,
      },
      metrics,
    );
  let registry: ModelRegistry | undefined;
  let modelError: string | undefined;
  try {
    registry = await ModelRegistry.load(settings.modelsDir, { intraOpThreads: settings.onnxIntraOpThreads, nice: settings.inferenceNice });
    registry.onRun = (op, n, seconds) => {
      metrics.inferenceBatchSize.observe({ op }, n);
      metrics.inferenceRunSeconds.observe({ op }, seconds);
    };
  } catch (err) {
    // The tile service still works; model queries answer MODEL_UNAVAILABLE and /healthz is 503.
    modelError = `models could not be loaded from ${settings.modelsDir}: ${(err as Error).message}`;
    console.error(modelError);
  }
  const noModels = () => new GroundviewError(ErrorCode.MODEL_UNAVAILABLE, "the models are not loaded; see the service log");
  let imageryRef: ImageryService<LayerServices> | undefined;
  /** The services of the imagery that answers over a box (a date's, the latest covering it, or the undated source's). */
  const layerAt = async (date: string | null | undefined, box: Box, z?: number, field?: string) => {
    const layer = await imageryRef!.servicesAt(date, box, z, field);
    if (!layer) throw noModels();
    return layer;
  };
  // Area jobs work on the imagery terrainFilter would read (a date's layer, or the undated source's).
  const areaMaps = (undated: TerrainMapService): AreaMaps => ({
    at: async (date, box, z) => (await layerAt(date, box, z)).value.terrainMap,
    of: async (source) => {
      if (source === undated.source) return undated;
      const date = dateOfLayer(tileCache.source.id, source);
      const info = date && (await imageryRef!.layers.dated(date).catch(() => undefined));
      return info ? imageryRef!.servicesOf(info)?.terrainMap : undefined;
    },
  });
  // A fetched tile's validating decode also makes the terrain classifier's input (one decode a tile).
  const previewSize = registry?.manifest.models.terrainClassifier.input.size[0];
  const tileCache = makeCache(source);
  const tiles = new TileService(tileCache, DEFAULT_ZOOM);
  const models = registry ? buildModelServices(registry, db, tileCache, metrics, settings, areaMaps) : undefined;
  const imagery = new ImageryService(
    new ImageryLayers(db.prisma, source.id),
    { cache: tileCache, services: models },
    {
      cache: makeCache,
      services:
        registry &&
        ((cache, date) => {
          const layer = buildLayerServices(registry!, db, cache, metrics, settings, date);
          layer.landscape.baseUrl = tiles.baseUrl;
          return layer;
        }),
    },
  );
  imageryRef = imagery;
  const apiKeys = new ApiKeyStore(db.prisma);
  const rateLimits = new RateLimits(
    { anonymousPerMinute: settings.rateLimitAnonymousPerMinute, trustProxy: settings.trustProxy, pool: db.pool },
    apiKeys,
  );
  const armor = armorProtections({
    maxAliases: settings.queryMaxAliases,
    maxDepth: settings.queryMaxDepth,
    maxDirectives: settings.queryMaxDirectives,
  });
  const costProbe =
    models &&
    databaseCostProbe(
      db.prisma,
      tileCache.source.id,
      registry!.version,
      (lat) => models.landscape.defaultZoom(lat),
      (k) => models.analysis.inMemory(k),
    );
  const modelServices = (): ModelServices => {
    if (!models) throw noModels();
    return models;
  };
  const pick =
    <T>(f: (l: LayerServices) => T): DatedLookup<T> =>
    async (date, box, z, field): Promise<Dated<T>> => {
      const l = await layerAt(date, box, z, field);
      return { date: l.date, value: f(l.value) };
    };
  const resolvers = [
    new TileResolver(tiles),
    new LandscapeResolver(pick((l) => l.landscape)),
    new TerrainFilterResolver(pick((l) => l.terrainFilter)),
    new TerrainSummaryResolver(pick((l) => l.terrainSummary)),
    new ImageryResolver(imagery.layers),
    new TerrainChangeResolver(
      pick((l) => l),
      new TerrainChangeService(db.prisma, registry?.manifest.models.changeDetector && new ChangeDetector(registry)),
    ),
    new AreaJobsResolver(() => modelServices().areaJobs),
    new SimilarPlacesResolver(() => modelServices().similarPlaces),
    new ValidatePhotoResolver(() => modelServices().photos),
  ];
  const apollo = new ApolloServer<GraphQLContext>({
    schema: await buildGroundviewSchema(resolvers),
    csrfPrevention: true,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // src/index.ts owns SIGINT/SIGTERM and stops everything in order; Apollo's own handlers
    // would stop it a second time, concurrently, and could leave shutdown hanging.
    stopOnTerminationSignals: false,
    formatError: formatError(settings.production),
    // Query limits before any work: the parser stops at maxTokens; armor's rules bound aliases,
    // depth and directives; the plugin refuses costly operations and charges the client.
    parseOptions: { maxTokens: settings.queryMaxTokens },
    validationRules: armor.validationRules,
    allowBatchedHttpRequests: false,
    plugins: [
      ...(armor.plugins as ApolloServerPlugin<GraphQLContext>[]),
      costLimitPlugin<GraphQLContext>({
        maxCost: settings.queryMaxCost,
        rateLimits,
        maxTilesPerBox: settings.terrainFilterMaxTiles,
        probe: costProbe,
        costlyCost: settings.costlyOperationCost,
        costlyConcurrency: settings.clientCostlyConcurrency,
      }),
    ],
  });
  await apollo.start();
  const context: GraphQLContext = {};
  const server = createHttpServer({
    apollo,
    context,
    tileCache,
    imagery,
    metrics,
    models,
    uploadLimits: { maxBytes: settings.photoMaxBytes },
    corsOrigins: settings.corsOrigins,
    rateLimits,
    baseUrl: () => tiles.baseUrl,
    sampleArea,
    costProbe,
    ready: async () => {
      await db.ping();
      if (!models) throw new Error(modelError);
      if (!registry?.ready) throw new Error("the inference worker is not running");
    },
  });
  /** Stops what start-up opened, in order; rows computed but not yet written are written first. */
  const release = async () => {
    await models?.areaJobs.stop();
    await apollo.stop();
    await models?.analysis.flush();
    await imagery.flush();
    await registry?.close();
    await source.close?.();
    await db.close();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(settings.port, settings.host, () => resolve());
    });
  } catch (err) {
    // A busy port: release what start-up opened (the models' worker, the database and its lock).
    await release();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const host = settings.host === "0.0.0.0" || settings.host === "::" ? "127.0.0.1" : settings.host;
  const url = settings.publicUrl ?? `http://${host}:${port}`;
  tiles.baseUrl = url;
  if (models) models.landscape.baseUrl = url;
  // Area jobs: this process works the queue too (jobs left by a stopped or killed process resume).
  await models?.areaJobs.start().catch((err: Error) => console.error(`area jobs not started: ${err.message}`));
  return {
    url,
    models,
    modelError,
    db,
    tileCache,
    metrics,
    apiKeys,
    sampleArea,
    flush: async () => {
      await models?.analysis.flush();
      await imagery.flush();
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await release();
    },
  };
}

/**
 * Stores the latest bundled sample area pinned under the default source (see sample-area.ts).
 * Other sources are left alone. A sample that cannot be read is reported and skipped: the
 * service works without it.
 */
async function loadSampleArea(settings: Settings, store: TileStore, sourceId: string): Promise<SampleLoadReport | undefined> {
  if (!settings.sampleArea || settings.tileSource !== DEFAULT_TILE_SOURCE) return undefined;
  try {
    const latest = latestSample(settings.sampleArea);
    if (!latest) return undefined;
    const report = await loadSample(store, sourceId, latest.file, settings.tileMaxPixels);
    // Every date of the sample (the latest included) is also a dated layer: imageryDates,
    // ?date= and terrainChange work there offline.
    for (const s of sampleFiles(settings.sampleArea)) {
      const layer = layerId(sourceId, s.meta.date);
      const r = await loadSample(store, layer, s.file, settings.tileMaxPixels);
      if (r.written || !(await store.prisma.imageryLayer.findUnique({ where: { layer } })))
        await recordLayer(store.prisma, sourceId, s.meta.date, path.basename(s.file));
    }
    return report;
  } catch (err) {
    console.error(`sample area not loaded: ${(err as Error).message}`);
    return undefined;
  }
}

/** The services of one imagery layer (the undated source, or one date of it). */
function buildLayerServices(
  registry: ModelRegistry,
  db: Database,
  tileCache: TileCache,
  metrics: Metrics,
  s: Settings,
  date?: string,
): LayerServices {
  const analysis = new TileAnalysisService(db.prisma, tileCache, registry, metrics, {
    memoryBytes: s.analysisMemoryBytes,
    concurrency: s.analysisConcurrency,
  });
  const landscape = new LandscapeService(analysis, date);
  const terrainMap = new TerrainMapService(db.prisma, analysis, s.terrainFilterMaxTiles);
  return {
    tiles: tileCache,
    analysis,
    landscape,
    terrainMap,
    terrainFilter: new TerrainFilterService(terrainMap),
    terrainSummary: new TerrainSummaryService(terrainMap),
    photos: new PhotoValidationService(
      landscape,
      analysis,
      registry,
      metrics,
      { maxBytes: s.photoMaxBytes, maxPixels: s.photoMaxPixels },
      s.uploadDir,
    ),
    similarPlaces: new SimilarPlacesService(db.prisma, analysis, landscape),
  };
}

/** The undated source's services and the process's area jobs (`maps`: the terrain maps of the imagery a job works on). */
function buildModelServices(
  registry: ModelRegistry,
  db: Database,
  tileCache: TileCache,
  metrics: Metrics,
  s: Settings,
  maps: (undated: TerrainMapService) => AreaMaps,
): ModelServices {
  const layer = buildLayerServices(registry, db, tileCache, metrics, s);
  const log = (line: string) => console.log(line);
  const queue = new AreaJobQueue({
    executeSql: db.executeSql,
    chunkTimeoutSeconds: s.areaJobChunkTimeoutSeconds,
    pollSeconds: s.areaJobPollSeconds,
    workers: s.areaJobWorkers,
    log,
  });
  const areaJobs = new AreaJobsService(
    db.prisma,
    maps(layer.terrainMap),
    queue,
    metrics,
    { maxTiles: s.areaJobMaxTiles, maxPendingTiles: s.areaJobMaxPendingTiles, chunkTiles: s.areaJobChunkTiles },
    log,
  );
  return { ...layer, areaJobs };
}
