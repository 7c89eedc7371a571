/**
 * The HTTP front: tiles, health, metrics and GraphQL on one plain Node server. No framework:
 * the cached-tile path is the hot one and must stay close to a bare handler's speed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { ApolloServer } from "@apollo/server";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { TileAnalysisService } from "../analysis/tile-analysis.service.js";
import type { GraphQLContext } from "../graphql/context.js";
import type { TerrainMapService } from "../terrain-map/terrain-map.service.js";
import type { Metrics } from "../metrics/metrics.js";
import type { TileCache } from "../tiles/tile-cache.js";
import { serveGraphQL, type UploadLimits } from "./graphql.route.js";
import { LANDSCAPE_ROUTE, serveLandscape } from "./landscapes.route.js";
import { type AllowedOrigins, allowAnyOrigin, graphqlCorsHeaders, graphqlPreflight, publicPreflight } from "./cors.js";
import { notFound, sendError, sendJson } from "./respond.js";
import { serveTile, TILE_ROUTE } from "./tiles.route.js";
import { serveTerrainTile, TERRAIN_TILE_ROUTE, TERRAIN_TILEJSON_ROUTE, terrainTileJson, type TileRange } from "./terrain-tiles.route.js";
import { type CostProbe, rangeCost } from "../limits/query-cost.js";
import { loadStaticAssets, serveStatic } from "./static.route.js";
import { rateLimitedError, rateLimitHeaders, type RateLimits } from "../limits/rate-limits.js";
import { sampleCentre, type SampleMetadata } from "../tiles/sample-area.js";
import type { ImageryService } from "../imagery/imagery.service.js";

/** Rate-limit cost of one tile or landscape image GET (a cached tile is ~0.6 ms of work). */
export const IMAGE_GET_COST = 1;

/** The satellite layer's TileJSON. */
export const TILEJSON_ROUTE = "/tiles/satellite.json";

/** What the HTTP routes use of the model services (landscape images, terrain vector tiles). */
export interface HttpModels {
  analysis: TileAnalysisService;
  terrainMap: TerrainMapService;
}

export interface HttpDeps {
  apollo: ApolloServer<GraphQLContext>;
  context: GraphQLContext;
  tileCache: TileCache;
  /** Dated imagery: /tiles/satellite/...?date=, TileJSON per date, dated landscapes. */
  imagery: ImageryService<HttpModels>;
  metrics: Metrics;
  models?: HttpModels;
  uploadLimits: UploadLimits;
  /** Resolves when every dependency (database, later models) is ready. */
  ready: () => Promise<void>;
  corsOrigins: AllowedOrigins;
  /** Absolute base of the URLs handed out (known once the server listens). */
  baseUrl: () => string;
  rateLimits: RateLimits;
  /** The bundled sample area stored under the source, if any: named in the attribution, and where maps open. */
  sampleArea?: SampleMetadata;
  /** What is stored, for the cost of a terrain vector tile that analyses tiles (absent without models). */
  costProbe?: CostProbe;
}

/**
 * TileJSON 3.0.0 of the satellite layer: what a map client needs to draw it. With a date, that
 * date's layer (its zooms and extent, tiles URLs carrying the date); `dates` lists the source's
 * dated layers either way.
 */
async function tileJson(d: HttpDeps, date: string | null): Promise<Record<string, unknown>> {
  const layers = await d.imagery.layers.list();
  const dates = layers.map((l) => ({ date: l.date, bounds: l.bounds, minzoom: l.minZoom, maxzoom: l.maxZoom, tiles: l.tiles }));
  if (date !== null) {
    const info = await d.imagery.layers.dated(date);
    const s = d.imagery.cacheOf(info).source;
    return {
      tilejson: "3.0.0",
      name: `Groundview satellite (${d.tileCache.source.id}, ${info.date})`,
      scheme: "xyz",
      tiles: [`${d.baseUrl()}/tiles/satellite/{z}/{x}/{y}?date=${info.date}`],
      minzoom: s.zoom.minZoom,
      maxzoom: s.zoom.maxZoom,
      bounds: s.bounds,
      attribution: s.attribution,
      center: centreOf(s.bounds!),
      date: info.date,
      dates,
    };
  }
  const s = d.tileCache.source;
  const sample = d.sampleArea;
  const centre = sample ? sampleCentre(sample) : undefined;
  return {
    tilejson: "3.0.0",
    name: `Groundview satellite (${s.id})`,
    scheme: "xyz",
    tiles: [`${d.baseUrl()}/tiles/satellite/{z}/{x}/{y}`],
    ...(dates.length ? { dates } : {}),
    minzoom: s.zoom.minZoom,
    maxzoom: s.zoom.maxZoom,
    bounds: s.bounds ?? [-180, -85.051129, 180, 85.051129],
    attribution: sample ? `${s.attribution}; sample area: ${sample.attribution}` : s.attribution,
    // Where a map opens: the offline sample area when it is loaded (zoom 15 shows whole sample tiles).
    center: centre ? [centre.lon, centre.lat, Math.min(15, sample!.maxZoom)] : s.bounds ? centreOf(s.bounds) : [0, 20, 2],
    ...(sample ? { sampleArea: { bounds: sample.bounds, date: sample.date, minzoom: sample.minZoom, maxzoom: sample.maxZoom } } : {}),
  };
}

function centreOf(b: readonly number[]): [number, number, number] {
  const span = Math.max(b[2] - b[0], b[3] - b[1]);
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, Math.max(0, Math.min(16, Math.round(Math.log2(360 / Math.max(span, 1e-6)))))];
}

/** Charges the request's client `cost` and sets the RateLimit headers; the error to answer when over its quota. */
async function chargeClient(
  req: IncomingMessage,
  res: ServerResponse,
  limits: RateLimits,
  cost: number,
): Promise<GroundviewError | undefined> {
  const charge = await limits.charge(await limits.identify(req), cost);
  for (const [k, v] of Object.entries(rateLimitHeaders(charge))) res.setHeader(k, v);
  return charge.allowed ? undefined : rateLimitedError(charge, cost);
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  d: HttpDeps,
  assets: ReturnType<typeof loadStaticAssets>,
): Promise<[string, number]> {
  const [path, query = ""] = (req.url ?? "/").split("?", 2);
  // ?date=YYYY-MM-DD on the satellite tiles, their TileJSON and the landscapes (dated imagery).
  const date = new URLSearchParams(query).get("date");
  const method = req.method ?? "GET";
  if (path === "/graphql") {
    if (method === "OPTIONS") return ["graphql", graphqlPreflight(req, res, d.corsOrigins)];
    graphqlCorsHeaders(req, res, d.corsOrigins);
    return ["graphql", await serveGraphQL(req, res, d.apollo, d.context, d.uploadLimits, d.rateLimits)];
  }
  const tile = TILE_ROUTE.exec(path);
  const landscape = tile ? null : LANDSCAPE_ROUTE.exec(path);
  const terrainTile = tile || landscape ? null : TERRAIN_TILE_ROUTE.exec(path);
  const publicRoute =
    tile !== null || landscape !== null || terrainTile !== null || path === TILEJSON_ROUTE || path === TERRAIN_TILEJSON_ROUTE;
  if (publicRoute && method === "OPTIONS") return ["other", publicPreflight(res)];
  if (method !== "GET" && method !== "HEAD") {
    return ["other", sendError(res, new GroundviewError(ErrorCode.METHOD_NOT_ALLOWED, `${method} is not allowed here`))];
  }
  if (publicRoute) allowAnyOrigin(res);
  if (tile || landscape) {
    // Images are charged a fixed cost to the same per-client minute as GraphQL.
    const refused = await chargeClient(req, res, d.rateLimits, IMAGE_GET_COST);
    if (refused) return [tile ? "tile" : "landscape", sendError(res, refused)];
  }
  if (terrainTile) {
    if (!d.models)
      return [
        "terrain_tile",
        sendError(res, new GroundviewError(ErrorCode.MODEL_UNAVAILABLE, "the models are not loaded; see the service log")),
      ];
    const probe = d.costProbe;
    return [
      "terrain_tile",
      await serveTerrainTile(
        req,
        res,
        {
          maps: d.models.terrainMap,
          charge: async (cost) => {
            const refused = await chargeClient(req, res, d.rateLimits, cost);
            if (refused) throw refused;
          },
          computeCost: async (r: TileRange) => (probe ? Math.ceil(await rangeCost(probe, r.z, r.x0, r.x1, r.y0, r.y1, true)) : 0),
        },
        terrainTile,
      ),
    ];
  }
  if (path === TERRAIN_TILEJSON_ROUTE) {
    if (!d.models)
      return [
        "tilejson",
        sendError(res, new GroundviewError(ErrorCode.MODEL_UNAVAILABLE, "the models are not loaded; see the service log")),
      ];
    return ["tilejson", sendJson(res, 200, terrainTileJson(d.baseUrl(), d.models.terrainMap.classes, d.tileCache.source.zoom))];
  }
  if (tile) return ["tile", await serveTile(req, res, (key) => d.imagery.tileCache(date, key), tile)];
  if (landscape) return ["landscape", await serveLandscape(req, res, d.models, landscape, date, d.imagery)];
  if (path === TILEJSON_ROUTE) {
    try {
      return ["tilejson", sendJson(res, 200, await tileJson(d, date))];
    } catch (err) {
      return ["tilejson", sendError(res, err)];
    }
  }
  const file = assets.get(path);
  if (file) return ["page", serveStatic(req, res, file)];
  if (path === "/healthz") {
    try {
      await d.ready();
      return ["healthz", sendJson(res, 200, { status: "ok" })];
    } catch (err) {
      return [
        "healthz",
        sendJson(res, 503, {
          status: "unavailable",
          reason: (err as Error).message,
        }),
      ];
    }
  }
  if (path === "/metrics") {
    const body = await d.metrics.registry.metrics();
    res.writeHead(200, { "content-type": d.metrics.registry.contentType });
    res.end(body);
    return ["metrics", 200];
  }
  return ["other", notFound(res)];
}

export function createHttpServer(d: HttpDeps): Server {
  const assets = loadStaticAssets();
  return createServer((req, res) => {
    const start = process.hrtime.bigint();
    route(req, res, d, assets)
      .catch((err) => ["other", res.headersSent ? (res.destroy(), 500) : sendError(res, err)] as [string, number])
      .then(([name, status]) => {
        d.metrics.httpDuration.observe({ route: name, status: String(status) }, Number(process.hrtime.bigint() - start) / 1e9);
      });
  });
}
