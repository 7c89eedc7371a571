/**
 * Every setting Groundview reads, parsed once from the environment into a frozen object.
 * Nothing else in the code base reads `process.env` (README has the table of settings).
 */
import path from "node:path";

export interface Settings {
  readonly port: number;
  readonly host: string;
  /** Absent: embedded PGlite + PostGIS stored under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  readonly dataDir: string;
  /** XYZ template, `mbtiles:` path, directory, preset name, or `imported`. */
  readonly tileSource: string;
  /** Folder of sample-area MBTiles loaded under the default source at start; undefined: off. */
  readonly sampleArea: string | undefined;
  readonly tileMinZoom: number | undefined;
  readonly tileMaxZoom: number | undefined;
  readonly tileAttribution: string | undefined;
  readonly tileTtlSeconds: number;
  readonly tileNegativeTtlSeconds: number;
  readonly tileMaxBytes: number;
  readonly tileMaxPixels: number;
  readonly memoryCacheBytes: number;
  readonly upstreamConcurrency: number;
  readonly upstreamTimeoutMs: number;
  readonly upstreamRetries: number;
  readonly upstreamRetryBaseMs: number;
  readonly upstreamUserAgent: string;
  readonly leaseTtlMs: number;
  readonly leasePollMs: number;
  readonly publicUrl: string | undefined;
  readonly modelsDir: string;
  readonly onnxIntraOpThreads: number;
  /** Niceness of the inference threads: model runs yield the CPU to cached answers. */
  readonly inferenceNice: number;
  readonly analysisMemoryBytes: number;
  readonly analysisConcurrency: number;
  readonly terrainFilterMaxTiles: number;
  /** Largest area job (prepareArea), in tiles. */
  readonly areaJobMaxTiles: number;
  /** Tiles of all unfinished area jobs together; a new job beyond it is refused. */
  readonly areaJobMaxPendingTiles: number;
  /** Tiles per queued chunk of an area job. */
  readonly areaJobChunkTiles: number;
  /** A chunk taken by a process that then died is given to another after this long. */
  readonly areaJobChunkTimeoutSeconds: number;
  /** How often an idle process looks for area-job chunks; 0: this process works none. */
  readonly areaJobPollSeconds: number;
  /** Area-job chunks one process works at once. */
  readonly areaJobWorkers: number;
  readonly photoMaxBytes: number;
  /** Origins allowed to call /graphql from a browser ("*" for any); tiles allow any origin. */
  readonly corsOrigins: "*" | readonly string[];
  readonly photoMaxPixels: number;
  /** Where uploaded photos are kept; undefined: they are not stored. */
  readonly uploadDir: string | undefined;
  readonly production: boolean;
  /** GraphQL documents over this many tokens are refused while parsing. */
  readonly queryMaxTokens: number;
  readonly queryMaxAliases: number;
  readonly queryMaxDepth: number;
  readonly queryMaxDirectives: number;
  /** Largest estimated cost of one GraphQL operation (units of about 1 ms of work). */
  readonly queryMaxCost: number;
  /** Cost units a minute for clients without an API key (0: unlimited). */
  readonly rateLimitAnonymousPerMinute: number;
  /** Operations of at least this estimated cost are "costly": one client runs at most clientCostlyConcurrency of them at once. */
  readonly costlyOperationCost: number;
  /** How many costly operations one client may run at once; its others wait their turn (0: no limit). */
  readonly clientCostlyConcurrency: number;
  /** Quota of a new API key unless the CLI is given one. */
  readonly rateLimitKeyPerMinute: number;
  /** Take the client address from X-Forwarded-For (behind a proxy you run). */
  readonly trustProxy: boolean;
}

type Env = Record<string, string | undefined>;

/** The tile source when TILE_SOURCE is not set (the bundled sample area is loaded under it). */
export const DEFAULT_TILE_SOURCE = "esri-world-imagery";

export class SettingsError extends Error {}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  return num(env, name, def, min, max, true);
}

function num(env: Env, name: string, def: number, min: number, max: number, integer = false): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  const v = Number(raw);
  if (!(integer ? Number.isInteger(v) : Number.isFinite(v)) || v < min || v > max) {
    throw new SettingsError(`${name} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got '${raw}'`);
  }
  return v;
}

function optInt(env: Env, name: string, min: number, max: number): number | undefined {
  return env[name] === undefined || env[name] === "" ? undefined : int(env, name, 0, min, max);
}

/** CORS_ORIGINS: "*", or comma-separated origins such as https://maps.example.com. */
function origins(v: string | undefined): "*" | string[] {
  if (!v || !v.trim()) return [];
  if (v.trim() === "*") return "*";
  const list = v
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of list) {
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new SettingsError(`CORS_ORIGINS: '${o}' is not an origin such as https://maps.example.com`);
    }
    if (u.origin !== o)
      throw new SettingsError(`CORS_ORIGINS: '${o}' is not an origin (scheme://host[:port], no path); did you mean ${u.origin}?`);
  }
  return list;
}

/** Builds the settings from an environment (defaults documented in README.md). */
export function loadSettings(env: Env = process.env): Settings {
  const dataDir = path.resolve(env.GROUNDVIEW_DATA_DIR || "./.groundview");
  const minZoom = optInt(env, "TILE_MIN_ZOOM", 0, 24);
  const maxZoom = optInt(env, "TILE_MAX_ZOOM", 0, 24);
  if (minZoom !== undefined && maxZoom !== undefined && minZoom > maxZoom) {
    throw new SettingsError(`TILE_MIN_ZOOM (${minZoom}) is above TILE_MAX_ZOOM (${maxZoom})`);
  }
  return Object.freeze({
    port: int(env, "PORT", 4000, 0, 65535),
    host: env.HOST || "0.0.0.0",
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolSize: int(env, "DATABASE_POOL_SIZE", 10, 1, 200),
    dataDir,
    tileSource: env.TILE_SOURCE || DEFAULT_TILE_SOURCE,
    sampleArea: env.SAMPLE_AREA === "off" ? undefined : path.resolve(env.SAMPLE_AREA || "./sample"),
    tileMinZoom: minZoom,
    tileMaxZoom: maxZoom,
    tileAttribution: env.TILE_ATTRIBUTION || undefined,
    tileTtlSeconds: int(env, "TILE_TTL_SECONDS", 7 * 24 * 3600, 1, 10 * 365 * 24 * 3600),
    tileNegativeTtlSeconds: int(env, "TILE_NEGATIVE_TTL_SECONDS", 300, 1, 7 * 24 * 3600),
    tileMaxBytes: int(env, "TILE_MAX_BYTES", 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    tileMaxPixels: int(env, "TILE_MAX_PIXELS", 1024 * 1024, 256, 16 * 1024 * 1024),
    memoryCacheBytes: int(env, "TILE_MEMORY_CACHE_MB", 64, 0, 16384) * 1024 * 1024,
    upstreamConcurrency: int(env, "UPSTREAM_CONCURRENCY", 8, 1, 256),
    upstreamTimeoutMs: int(env, "UPSTREAM_TIMEOUT_MS", 5000, 50, 120000),
    upstreamRetries: int(env, "UPSTREAM_RETRIES", 2, 0, 10),
    upstreamRetryBaseMs: int(env, "UPSTREAM_RETRY_BASE_MS", 200, 1, 60000),
    upstreamUserAgent: env.UPSTREAM_USER_AGENT || "Groundview/0.1 (+tile cache)",
    leaseTtlMs: int(env, "TILE_LEASE_TTL_MS", 30000, 100, 600000),
    leasePollMs: int(env, "TILE_LEASE_POLL_MS", 25, 1, 5000),
    publicUrl: env.PUBLIC_URL || undefined,
    modelsDir: path.resolve(env.MODELS_DIR || "./models"),
    onnxIntraOpThreads: int(env, "ONNX_INTRA_OP_THREADS", 2, 1, 64),
    inferenceNice: int(env, "INFERENCE_NICE", 10, 0, 19),
    analysisMemoryBytes: int(env, "ANALYSIS_MEMORY_CACHE_MB", 64, 0, 16384) * 1024 * 1024,
    analysisConcurrency: int(env, "ANALYSIS_CONCURRENCY", 4, 1, 64),
    terrainFilterMaxTiles: int(env, "TERRAIN_FILTER_MAX_TILES", 1024, 1, 100000),
    areaJobMaxTiles: int(env, "AREA_JOB_MAX_TILES", 50_000, 1, 5_000_000),
    areaJobMaxPendingTiles: int(env, "AREA_JOB_MAX_PENDING_TILES", 200_000, 1, 50_000_000),
    areaJobChunkTiles: int(env, "AREA_JOB_CHUNK_TILES", 32, 1, 1024),
    areaJobChunkTimeoutSeconds: int(env, "AREA_JOB_CHUNK_TIMEOUT_SECONDS", 300, 1, 3600),
    areaJobPollSeconds: num(env, "AREA_JOB_POLL_SECONDS", 2, 0, 600),
    areaJobWorkers: int(env, "AREA_JOB_WORKERS", 2, 0, 16),
    photoMaxBytes: int(env, "PHOTO_MAX_BYTES", 10 * 1024 * 1024, 1024, 200 * 1024 * 1024),
    corsOrigins: origins(env.CORS_ORIGINS),
    photoMaxPixels: int(env, "PHOTO_MAX_PIXELS", 40_000_000, 1024, 400_000_000),
    uploadDir: env.UPLOAD_DIR ? path.resolve(env.UPLOAD_DIR) : undefined,
    production: env.NODE_ENV === "production",
    queryMaxTokens: int(env, "QUERY_MAX_TOKENS", 2000, 100, 1_000_000),
    queryMaxAliases: int(env, "QUERY_MAX_ALIASES", 15, 1, 10_000),
    queryMaxDepth: int(env, "QUERY_MAX_DEPTH", 10, 2, 1000),
    queryMaxDirectives: int(env, "QUERY_MAX_DIRECTIVES", 20, 1, 10_000),
    queryMaxCost: int(env, "QUERY_MAX_COST", 1000, 1, 100_000_000),
    rateLimitAnonymousPerMinute: int(env, "RATE_LIMIT_ANONYMOUS_PER_MINUTE", 10_000, 0, 1_000_000_000),
    rateLimitKeyPerMinute: int(env, "RATE_LIMIT_KEY_PER_MINUTE", 60_000, 1, 1_000_000_000),
    costlyOperationCost: int(env, "COSTLY_OPERATION_COST", 100, 1, 100_000_000),
    clientCostlyConcurrency: int(env, "CLIENT_COSTLY_CONCURRENCY", 1, 0, 1000),
    trustProxy: ["1", "true", "yes"].includes((env.TRUST_PROXY ?? "").toLowerCase()),
  });
}
