/**
 * The one set of machine-readable error codes. Clients branch on `extensions.code`
 * (GraphQL) or `error.code` (HTTP JSON bodies), never on message text.
 */
export enum ErrorCode {
  /** A coordinate, zoom or tile index outside its valid range. */
  OUT_OF_RANGE = "OUT_OF_RANGE",
  /** Any other malformed argument. */
  BAD_USER_INPUT = "BAD_USER_INPUT",
  /** The source has no imagery for this tile (outside coverage). */
  TILE_NOT_FOUND = "TILE_NOT_FOUND",
  /** The upstream failed (errors, timeouts, invalid images) and nothing usable is cached. */
  TILE_UNAVAILABLE = "TILE_UNAVAILABLE",
  /** A terrainFilter box covers more tiles than TERRAIN_FILTER_MAX_TILES. */
  BBOX_TOO_LARGE = "BBOX_TOO_LARGE",
  /** A terrainFilter / terrainSummary area (GeoJSON) whose box covers more tiles than TERRAIN_FILTER_MAX_TILES, or a prepareArea area (box or GeoJSON) over AREA_JOB_MAX_TILES. */
  AREA_TOO_LARGE = "AREA_TOO_LARGE",
  /** An area that is not a valid GeoJSON Polygon/MultiPolygon; `problem` says why (NOT_CLOSED, SELF_INTERSECTION, ...). */
  INVALID_GEOMETRY = "INVALID_GEOMETRY",
  /** No area job with that id. */
  AREA_JOB_NOT_FOUND = "AREA_JOB_NOT_FOUND",
  /** The unfinished area jobs already hold AREA_JOB_MAX_PENDING_TILES tiles (`pendingTiles`, `limit`); try again later. */
  AREA_JOBS_BUSY = "AREA_JOBS_BUSY",
  /** A date that is not a calendar date written YYYY-MM-DD (`field` names the argument). */
  INVALID_DATE = "INVALID_DATE",
  /** No imagery of that date in the source (`available`: the dates it has, newest first). */
  IMAGERY_DATE_NOT_FOUND = "IMAGERY_DATE_NOT_FOUND",
  /** An upload that is not a decodable JPEG/PNG/WebP/HEIF/TIFF image. */
  UNSUPPORTED_IMAGE = "UNSUPPORTED_IMAGE",
  /** An upload over PHOTO_MAX_BYTES or PHOTO_MAX_PIXELS. */
  PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE",
  /** The models are not loaded (missing or broken models/ directory). */
  MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE",
  /** No analysed landscape at that address. */
  LANDSCAPE_NOT_FOUND = "LANDSCAPE_NOT_FOUND",
  /** The database is unreachable or failed. */
  DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE",
  /** An HTTP method the route does not serve. */
  METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED",
  /** A cross-origin /graphql request or preflight from an origin not in CORS_ORIGINS. */
  ORIGIN_NOT_ALLOWED = "ORIGIN_NOT_ALLOWED",
  /** An operation whose estimated cost is over QUERY_MAX_COST (`cost`, `limit` and the costliest `fields` in the error). */
  QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY",
  /** The client's cost-per-minute quota is used up (`retryAfterSeconds` in the error, Retry-After header). */
  RATE_LIMITED = "RATE_LIMITED",
  /** An API key that is unknown or revoked. */
  INVALID_API_KEY = "INVALID_API_KEY",
  /** Request route not found. */
  NOT_FOUND = "NOT_FOUND",
  INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR",
}

/**
 * Codes of malformed GraphQL requests, from the GraphQL protocol and Apollo Server (passed
 * through as they are); BAD_REQUEST is also ours, for HTTP-level problems of a /graphql request
 * (a body that is not JSON, a multipart upload without the CSRF preflight header).
 */
export enum ProtocolCode {
  GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED",
  GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED",
  BAD_REQUEST = "BAD_REQUEST",
  PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND",
  OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE",
}

/** HTTP status for each code, used by the REST endpoints. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  [ErrorCode.OUT_OF_RANGE]: 400,
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.TILE_NOT_FOUND]: 404,
  [ErrorCode.TILE_UNAVAILABLE]: 502,
  [ErrorCode.BBOX_TOO_LARGE]: 400,
  [ErrorCode.AREA_TOO_LARGE]: 400,
  [ErrorCode.INVALID_GEOMETRY]: 400,
  [ErrorCode.AREA_JOB_NOT_FOUND]: 404,
  [ErrorCode.AREA_JOBS_BUSY]: 503,
  [ErrorCode.INVALID_DATE]: 400,
  [ErrorCode.IMAGERY_DATE_NOT_FOUND]: 404,
  [ErrorCode.UNSUPPORTED_IMAGE]: 415,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.MODEL_UNAVAILABLE]: 503,
  [ErrorCode.LANDSCAPE_NOT_FOUND]: 404,
  [ErrorCode.DATABASE_UNAVAILABLE]: 503,
  [ErrorCode.METHOD_NOT_ALLOWED]: 405,
  [ErrorCode.ORIGIN_NOT_ALLOWED]: 403,
  [ErrorCode.QUERY_TOO_COSTLY]: 400,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.INVALID_API_KEY]: 401,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.INTERNAL_SERVER_ERROR]: 500,
});
