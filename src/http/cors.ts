/**
 * Cross-origin access, as tile servers do it: the public GETs (tiles, landscapes, TileJSON)
 * allow any origin, so a MapLibre or Leaflet page elsewhere can draw them; `/graphql` allows
 * the origins of CORS_ORIGINS (none by default: same origin only) and answers their
 * preflights. Apollo's CSRF prevention still refuses simple (non-preflighted) POSTs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import { sendError } from "./respond.js";

/** CORS_ORIGINS: "*" or a list of origins. */
export type AllowedOrigins = "*" | readonly string[];

const PUBLIC_MAX_AGE_S = 86400;
const GRAPHQL_MAX_AGE_S = 600;
const GRAPHQL_HEADERS = "content-type, apollo-require-preflight, x-apollo-operation-name, authorization";

/** Headers for a public GET/HEAD (tile, landscape, TileJSON): any origin may read it. */
export function allowAnyOrigin(res: ServerResponse): void {
  res.setHeader("access-control-allow-origin", "*");
  res.setHeader("access-control-expose-headers", "ETag, Cache-Control, Content-Length");
}

/** A preflight for a public route. */
export function publicPreflight(res: ServerResponse): number {
  res.writeHead(204, {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, HEAD, OPTIONS",
    "access-control-allow-headers": "if-none-match, if-modified-since",
    "access-control-max-age": String(PUBLIC_MAX_AGE_S),
  });
  res.end();
  return 204;
}

function originAllowed(origin: string, allowed: AllowedOrigins): boolean {
  return allowed === "*" || allowed.includes(origin);
}

/** On a GraphQL request from an allowed origin, the headers that let the browser read the answer. */
export function graphqlCorsHeaders(req: IncomingMessage, res: ServerResponse, allowed: AllowedOrigins): void {
  res.setHeader("vary", "Origin");
  const origin = req.headers.origin;
  if (origin && originAllowed(origin, allowed)) res.setHeader("access-control-allow-origin", origin);
}

/** OPTIONS /graphql: 204 with the allow headers for an allowed origin, 403 ORIGIN_NOT_ALLOWED otherwise. */
export function graphqlPreflight(req: IncomingMessage, res: ServerResponse, allowed: AllowedOrigins): number {
  const origin = req.headers.origin;
  if (!origin || !originAllowed(origin, allowed)) {
    res.setHeader("vary", "Origin");
    return sendError(
      res,
      new GroundviewError(
        ErrorCode.ORIGIN_NOT_ALLOWED,
        `origin ${origin ?? "(none)"} may not call /graphql; the service allows CORS_ORIGINS`,
        {
          origin: origin ?? null,
        },
      ),
    );
  }
  res.writeHead(204, {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": GRAPHQL_HEADERS,
    "access-control-max-age": String(GRAPHQL_MAX_AGE_S),
    vary: "Origin",
  });
  res.end();
  return 204;
}
