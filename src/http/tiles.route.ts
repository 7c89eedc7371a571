import type { IncomingMessage, ServerResponse } from "node:http";
import type { TileCache } from "../tiles/tile-cache.js";
import { sendError, sendImage } from "./respond.js";

/** z/x/y are at most 2 and 8 digits, so they are always safe integers; the cache checks the grid. */
export const TILE_ROUTE = /^\/tiles\/satellite\/(\d{1,2})\/(\d{1,8})\/(\d{1,8})(?:\.(?:png|jpe?g|webp))?$/;

/**
 * GET /tiles/satellite/{z}/{x}/{y}: the tile through the cache, with a strong ETag (the
 * sha256 of the bytes), Cache-Control for the time left before expiry, and 304 on a match.
 */
export async function serveTile(req: IncomingMessage, res: ServerResponse, cache: TileCache, match: RegExpExecArray): Promise<number> {
  try {
    const tile = await cache.get({ z: Number(match[1]), x: Number(match[2]), y: Number(match[3]) });
    const maxAge = tile.pinned ? 86400 : Math.max(0, Math.floor((tile.expiresAt.valueOf() - Date.now()) / 1000));
    return sendImage(req, res, tile.bytes, tile.contentType, {
      etag: `"${tile.contentHash}"`,
      "cache-control": tile.stale ? "public, max-age=60" : `public, max-age=${Math.min(maxAge, 86400)}`,
      "last-modified": tile.fetchedAt.toUTCString(),
    });
  } catch (err) {
    return sendError(res, err);
  }
}
