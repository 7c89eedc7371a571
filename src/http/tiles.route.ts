import type { IncomingMessage, ServerResponse } from "node:http";
import { outOfRange } from "../errors/errors.js";
import type { TileCache } from "../tiles/tile-cache.js";
import { sendError } from "./respond.js";

export const TILE_ROUTE = /^\/tiles\/satellite\/(\d{1,2})\/(\d{1,8})\/(\d{1,8})(?:\.(?:png|jpe?g|webp))?$/;

/** True when an If-None-Match header names this ETag (or `*`). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header === "*" || header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/**
 * GET /tiles/satellite/{z}/{x}/{y}: the tile through the cache, with a strong ETag (the
 * sha256 of the bytes), Cache-Control for the time left before expiry, and 304 on a match.
 */
export async function serveTile(req: IncomingMessage, res: ServerResponse, cache: TileCache, match: RegExpExecArray): Promise<number> {
  try {
    const [z, x, y] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (!Number.isSafeInteger(x) || !Number.isSafeInteger(y)) throw outOfRange("x", "tile index out of range");
    const tile = await cache.get({ z, x, y });
    const etag = `"${tile.contentHash}"`;
    const maxAge = tile.pinned ? 86400 : Math.max(0, Math.floor((tile.expiresAt.valueOf() - Date.now()) / 1000));
    const headers: Record<string, string | number> = {
      etag,
      "cache-control": tile.stale ? "public, max-age=60" : `public, max-age=${Math.min(maxAge, 86400)}`,
      "last-modified": tile.fetchedAt.toUTCString(),
    };
    if (etagMatches(req.headers["if-none-match"], etag)) {
      res.writeHead(304, headers);
      res.end();
      return 304;
    }
    headers["content-type"] = tile.contentType;
    headers["content-length"] = tile.bytes.byteLength;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : tile.bytes);
    return 200;
  } catch (err) {
    return sendError(res, err);
  }
}
