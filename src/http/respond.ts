import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode, HTTP_STATUS, type ProtocolCode } from "../errors/error-codes.js";
import { GroundviewError, toGroundviewError } from "../errors/errors.js";

/** Writes `{ "error": { "code", "message", ...details } }` with the code's HTTP status. */
export function sendError(res: ServerResponse, err: unknown): number {
  const gv = toGroundviewError(err);
  return sendJson(res, HTTP_STATUS[gv.code] ?? 500, { error: { code: gv.code, message: gv.message, ...gv.details } });
}

export function sendJson(res: ServerResponse, status: number, obj: unknown): number {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(body);
  return status;
}

/** A GraphQL-shaped error body, for requests refused before Apollo sees them. */
export const sendGraphQLError = (
  res: ServerResponse,
  status: number,
  code: ErrorCode | ProtocolCode,
  message: string,
  details: Record<string, unknown> = {},
) => sendJson(res, status, { errors: [{ message, extensions: { code, ...details } }] });

export const notFound = (res: ServerResponse) => sendError(res, new GroundviewError(ErrorCode.NOT_FOUND, "no such route"));

/** True when an If-None-Match header names this ETag (or `*`). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header === "*" || header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/**
 * Sends image bytes with their caching headers (which must include `etag`), or 304 when the
 * client's If-None-Match names that ETag; HEAD gets the headers only.
 */
export function sendImage(
  req: IncomingMessage,
  res: ServerResponse,
  bytes: Uint8Array,
  contentType: string,
  headers: Record<string, string> & { etag: string },
): number {
  if (etagMatches(req.headers["if-none-match"], headers.etag)) {
    res.writeHead(304, headers);
    res.end();
    return 304;
  }
  res.writeHead(200, { ...headers, "content-type": contentType, "content-length": bytes.byteLength });
  res.end(req.method === "HEAD" ? undefined : bytes);
  return 200;
}
