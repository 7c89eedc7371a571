/**
 * The bundled offline sample area: USDA NAIP imagery (US public domain) of a North Dakota
 * footprint, cut into Web Mercator tiles and kept in one MBTiles file per acquisition date under
 * `sample/`. At start-up the service stores the latest date's tiles pinned under the default
 * online source, so that with no internet the map, `landscape` and `terrainFilter` still work
 * there (everywhere else the online source answers as before), and every date's tiles as that
 * source's dated layer (`imageryDates`, `?date=`, `terrainChange`).
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import sharp from "sharp";
import { tileRaster, type TilingOptions } from "./import-raster.js";
import { contentHash, type TileStore } from "./tile-store.js";
import { checkTileImage } from "./image-check.js";

export interface SampleMetadata {
  name: string;
  /** Acquisition date of the imagery, YYYY-MM-DD. */
  date: string;
  attribution: string;
  minZoom: number;
  maxZoom: number;
  /** EPSG:4326 box of the imagery: west, south, east, north. */
  bounds: [number, number, number, number];
}

export interface SampleBuildReport extends SampleMetadata {
  tiles: number;
  bytes: number;
  zooms: Record<number, number>;
}

export interface SampleLoadReport extends SampleMetadata {
  tiles: number;
  /** Tiles written now (0 when every tile was already stored with the same bytes). */
  written: number;
}

const SCHEMA = `
  CREATE TABLE metadata (name TEXT PRIMARY KEY, value TEXT);
  CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB,
                      PRIMARY KEY (zoom_level, tile_column, tile_row));`;

/** Share of a tile's pixels that hold imagery (alpha > 0); GDAL leaves the rest transparent. */
async function coverage(png: Buffer): Promise<number> {
  const { data, info } = await sharp(png).ensureAlpha().extractChannel(3).raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] > 0) n++;
  return n / (info.width * info.height);
}

/**
 * Cuts a raster into an MBTiles sample: tiles fully covered by imagery as JPEG, tiles on the
 * footprint's edge as WebP with their transparency kept (a map draws only the imagery; the
 * classifier sees black outside it), tiles with no imagery left out.
 */
export async function buildSample(
  o: TilingOptions & { out: string; date: string; name: string; attribution: string; quality?: number },
): Promise<SampleBuildReport> {
  const db = new Database(o.out);
  db.exec("DROP TABLE IF EXISTS metadata; DROP TABLE IF EXISTS tiles;" + SCHEMA);
  const insert = db.prepare("INSERT INTO tiles VALUES (?, ?, ?, ?)");
  const report: SampleBuildReport = {
    name: o.name,
    date: o.date,
    attribution: o.attribution,
    minZoom: o.minZoom,
    maxZoom: o.maxZoom,
    bounds: [0, 0, 0, 0],
    tiles: 0,
    bytes: 0,
    zooms: {},
  };
  try {
    const { bbox } = await tileRaster(o, async ({ key, bytes }) => {
      const cover = await coverage(bytes);
      if (cover === 0) return;
      const q = o.quality ?? 82;
      const img = sharp(bytes);
      const out =
        cover === 1 ? await img.removeAlpha().jpeg({ quality: q, mozjpeg: true }).toBuffer() : await img.webp({ quality: q }).toBuffer();
      insert.run(key.z, key.x, 2 ** key.z - 1 - key.y, out);
      report.tiles++;
      report.bytes += out.byteLength;
      report.zooms[key.z] = (report.zooms[key.z] ?? 0) + 1;
    });
    report.bounds = bbox;
    const meta: Record<string, string> = {
      name: o.name,
      format: "jpg",
      type: "baselayer",
      version: "1",
      description: `Sample area, imagery of ${o.date}; edge tiles are WebP with transparency`,
      attribution: o.attribution,
      date: o.date,
      minzoom: String(o.minZoom),
      maxzoom: String(o.maxZoom),
      bounds: bbox.map((v) => v.toFixed(6)).join(","),
      center: [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, Math.min(o.maxZoom, 15)].map((v) => v.toFixed(6)).join(","),
    };
    const put = db.prepare("INSERT INTO metadata VALUES (?, ?)");
    for (const [k, v] of Object.entries(meta)) put.run(k, v);
    db.exec("VACUUM");
    return report;
  } finally {
    db.close();
  }
}

/** Reads a sample's metadata; throws with the file's name when it is not a sample MBTiles. */
export function readSampleMetadata(db: Database.Database, file: string): SampleMetadata {
  const meta = new Map(
    (db.prepare("SELECT name, value FROM metadata").all() as { name: string; value: string }[]).map((r) => [r.name, r.value]),
  );
  const bounds = (meta.get("bounds") ?? "").split(",").map(Number);
  const date = meta.get("date") ?? "";
  if (bounds.length !== 4 || bounds.some((v) => !Number.isFinite(v)) || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    throw new Error(`${file} is not a Groundview sample area (its metadata needs bounds and date)`);
  }
  return {
    name: meta.get("name") ?? file,
    date,
    attribution: meta.get("attribution") ?? "",
    minZoom: Number(meta.get("minzoom")),
    maxZoom: Number(meta.get("maxzoom")),
    bounds: bounds as [number, number, number, number],
  };
}

/**
 * Stores a sample's tiles pinned under `source`. Idempotent and cheap on later starts: only
 * tiles that are not already stored pinned with the same bytes are written (so a new sample
 * replaces an old one, and nothing is rewritten on an ordinary start). Each tile is checked as
 * an upstream tile would be.
 */
export async function loadSample(store: TileStore, source: string, file: string, maxPixels: number): Promise<SampleLoadReport> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const meta = readSampleMetadata(db, file);
    const rows = db.prepare("SELECT zoom_level AS z, tile_column AS x, tile_row AS row, tile_data AS bytes FROM tiles").all() as {
      z: number;
      x: number;
      row: number;
      bytes: Buffer;
    }[];
    const stored = await store.pinnedHashes(source, meta.minZoom, meta.maxZoom);
    const fetchedAt = new Date(`${meta.date}T00:00:00Z`);
    const never = new Date("9999-12-31T00:00:00Z");
    let written = 0;
    for (const r of rows) {
      const key = { z: r.z, x: r.x, y: 2 ** r.z - 1 - r.row };
      if (stored.get(`${key.z}/${key.x}/${key.y}`) === contentHash(r.bytes)) continue;
      const contentType = await checkTileImage(r.bytes, maxPixels);
      await store.putAvailable(source, key, { bytes: r.bytes, contentType, fetchedAt, expiresAt: never, pinned: true });
      written++;
    }
    return { ...meta, tiles: rows.length, written };
  } finally {
    db.close();
  }
}

/** The centre of the sample's footprint (where the map opens). */
export function sampleCentre(m: SampleMetadata): { lon: number; lat: number } {
  return { lon: (m.bounds[0] + m.bounds[2]) / 2, lat: (m.bounds[1] + m.bounds[3]) / 2 };
}

/** The sample MBTiles in a folder, oldest acquisition date first. */
export function sampleFiles(dir: string): { file: string; meta: SampleMetadata }[] {
  if (!existsSync(dir)) return [];
  const out: { file: string; meta: SampleMetadata }[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".mbtiles"))) {
    const file = path.join(dir, f);
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      out.push({ file, meta: readSampleMetadata(db, file) });
    } finally {
      db.close();
    }
  }
  return out.sort((a, b) => a.meta.date.localeCompare(b.meta.date));
}

/** The sample MBTiles in a folder with the latest acquisition date; undefined when there is none. */
export function latestSample(dir: string): { file: string; meta: SampleMetadata } | undefined {
  return sampleFiles(dir).at(-1);
}
