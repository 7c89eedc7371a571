import path from "node:path";
import Database from "better-sqlite3";
import type { TileKey, ZoomRange } from "../tile-math.js";
import { type FetchOptions, type FetchResult, type TileSource, UpstreamError } from "./tile-source.js";

/** Tiles from a local MBTiles (SQLite) file. MBTiles rows are TMS: y is flipped. */
export class MbtilesSource implements TileSource {
  readonly kind = "mbtiles";
  readonly id: string;
  readonly zoom: ZoomRange;
  readonly attribution: string;
  private readonly db: Database.Database;
  private readonly stmt: Database.Statement;

  constructor(file: string, zoomOverride: Partial<ZoomRange>, attributionOverride?: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    const meta = new Map(
      (
        this.db.prepare("SELECT name, value FROM metadata").all() as {
          name: string;
          value: string;
        }[]
      ).map((r) => [r.name, r.value]),
    );
    const zr = this.db.prepare("SELECT MIN(zoom_level) AS lo, MAX(zoom_level) AS hi FROM tiles").get() as { lo: number; hi: number };
    this.zoom = {
      minZoom: zoomOverride.minZoom ?? Number(meta.get("minzoom") ?? zr.lo ?? 0),
      maxZoom: zoomOverride.maxZoom ?? Number(meta.get("maxzoom") ?? zr.hi ?? 22),
    };
    this.attribution = attributionOverride ?? meta.get("attribution") ?? `MBTiles: ${path.basename(file)}`;
    this.id = `mbtiles-${meta.get("name") ?? path.basename(file, ".mbtiles")}`;
    this.stmt = this.db.prepare("SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?");
  }

  async fetch(key: TileKey, opts: FetchOptions): Promise<FetchResult> {
    const row = this.stmt.get(key.z, key.x, 2 ** key.z - 1 - key.y) as { tile_data: Buffer } | undefined;
    if (!row) return { kind: "missing" };
    if (row.tile_data.byteLength > opts.maxBytes) throw new UpstreamError("tile is over the byte limit", false);
    return { kind: "ok", tile: { bytes: row.tile_data } };
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
