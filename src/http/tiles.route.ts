import type { IncomingMessage, ServerResponse } from "node:http";
import type { Dated } from "../geo/dated.js";
import type { TileCache } from "../tiles/tile-cache.js";
import type { TileKey } from "../tiles/tile-math.js";
import { sendError, sendImage } from "./respond.js";

/** z/x/y are at most 2 and 8 digits, so they are always safe integers; the cache checks the grid. */
export const TILE_ROUTE = /^\/tiles\/satellite\/(\d{1,2})\/(\d{1,8})\/(\d{1,8})(?:\.(?:png|jpe?g|webp))?$/;

/**
 * GET /tiles/satellite/{z}/{x}/{y}[?date=YYYY-MM-DD]: the tile through the cache of its imagery
 * layer (the date's; without one, the latest date holding the tile, else the undated source),
 * with a strong ETag (the sha256 of the bytes), Cache-Control for the time left before expiry,
 * and 304 on a match.
 */
export async function serveTile(
  req: IncomingMessage,
  res: ServerResponse,
  cacheFor: (key: TileKey) => Promise<Dated<TileCache>>,
  match: RegExpExecArray,
): Promise<number> {
  try {
    const key = { z: Number(match[1]), x: Number(match[2]), y: Number(match[3]) };
    const layer = await cacheFor(key);
    const tile = await layer.value.get(key);
    // Without ?date= the answer may change when a newer date is imported: say which date it is.
    if (layer.date) res.setHeader("x-imagery-date", layer.date);
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
