/**
 * Imports a georeferenced raster (GeoTIFF or anything GDAL reads) into the tile cache as Web
 * Mercator tiles. Reprojection and tiling are GDAL's (gdal_translate + gdal2tiles.py), not
 * ours: band selection and 8-bit scaling in a VRT, then XYZ tiles, each validated and stored
 * pinned (never expires, never evicted) under the given source id.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { checkTileImage } from "./image-check.js";
import type { TileStore } from "./tile-store.js";

const exec = promisify(execFile);

/** GDAL is not installed (a GDAL program was not found on the PATH). */
export class GdalMissingError extends Error {
  constructor(readonly program: string) {
    super(`GDAL is needed to import rasters and '${program}' was not found: install it with 'apt-get install gdal-bin python3-gdal'`);
    this.name = "GdalMissingError";
  }
}

/** Runs a GDAL program; a missing program becomes GdalMissingError. */
async function run(program: string, args: string[], opts: { maxBuffer?: number } = {}): Promise<{ stdout: string }> {
  try {
    return await exec(program, args, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new GdalMissingError(program);
    throw err;
  }
}

export interface ImportOptions {
  file: string;
  source: string;
  minZoom: number;
  maxZoom: number;
  /** 1-based band numbers for R, G, B; default 1,2,3. */
  bands?: [number, number, number];
  /** Stretch each band's min..max to 0..255 (for non-8-bit or dark rasters such as Landsat). */
  scale?: boolean;
  maxPixels: number;
  log?: (line: string) => void;
}

export interface ImportReport {
  tiles: number;
  zooms: Record<number, number>;
  bbox: [number, number, number, number];
}

interface GdalInfo {
  bands: { band: number; type: string }[];
  metadata?: Record<string, Record<string, string>>;
  wgs84Extent?: { coordinates: number[][][] };
}

/** Reads the raster's bands and footprint with gdalinfo. */
export async function rasterInfo(file: string): Promise<GdalInfo> {
  const { stdout } = await run("gdalinfo", ["-json", file], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as GdalInfo;
}

/** One tile GDAL cut from a raster: XYZ key and PNG bytes (RGBA; transparent where the raster has no data). */
export interface RasterTile {
  key: { z: number; x: number; y: number };
  bytes: Buffer;
}

export type TilingOptions = Pick<ImportOptions, "file" | "minZoom" | "maxZoom" | "bands" | "scale" | "log">;

/** The raster's footprint (EPSG:4326 box) and its Web Mercator tiles, cut by GDAL into a temporary folder. */
export async function tileRaster(
  o: TilingOptions,
  onTile: (t: RasterTile) => Promise<void>,
): Promise<{ bbox: [number, number, number, number] }> {
  const log = o.log ?? (() => undefined);
  if (o.minZoom > o.maxZoom || o.minZoom < 0 || o.maxZoom > 22) throw new Error("zoom range must satisfy 0 <= min <= max <= 22");
  const info = await rasterInfo(o.file);
  const bands = o.bands ?? [1, 2, 3];
  for (const b of bands) {
    if (!info.bands.some((x) => x.band === b)) throw new Error(`raster has no band ${b} (it has ${info.bands.length})`);
  }
  const coords = info.wgs84Extent?.coordinates[0] ?? [];
  const lons = coords.map((c) => c[0]);
  const lats = coords.map((c) => c[1]);
  const bbox: [number, number, number, number] = [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
  const work = await mkdtemp(path.join(tmpdir(), "gv-import-"));
  try {
    const vrt = path.join(work, "rgb.vrt");
    const needsScale = o.scale ?? bands.some((b) => info.bands.find((x) => x.band === b)?.type !== "Byte");
    const args = ["-of", "VRT", "-ot", "Byte", ...bands.flatMap((b) => ["-b", String(b)])];
    if (needsScale) args.push("-scale");
    await run("gdal_translate", [...args, o.file, vrt]);
    const out = path.join(work, "tiles");
    log(`tiling ${path.basename(o.file)} at zoom ${o.minZoom}-${o.maxZoom} (bands ${bands.join(",")}${needsScale ? ", stretched" : ""})`);
    await run("gdal2tiles.py", ["--xyz", "-z", `${o.minZoom}-${o.maxZoom}`, "-r", "bilinear", "-w", "none", "--processes=2", vrt, out], {
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const z of (await readdir(out)).filter((n) => /^\d+$/.test(n))) {
      for (const x of await readdir(path.join(out, z))) {
        for (const f of await readdir(path.join(out, z, x))) {
          const m = /^(\d+)\.png$/.exec(f);
          if (!m) continue;
          await onTile({ key: { z: Number(z), x: Number(x), y: Number(m[1]) }, bytes: await readFile(path.join(out, z, x, f)) });
        }
      }
    }
    return { bbox };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Stores the raster's tiles pinned under `o.source` (a dated import passes its layer id: src/imagery/dated-import.ts). */
export async function importRaster(store: TileStore, o: ImportOptions): Promise<ImportReport> {
  const now = new Date();
  const never = new Date("9999-12-31T00:00:00Z");
  const report: ImportReport = { tiles: 0, zooms: {}, bbox: [0, 0, 0, 0] };
  const { bbox } = await tileRaster(o, async ({ key, bytes }) => {
    const contentType = await checkTileImage(bytes, o.maxPixels);
    await store.putAvailable(o.source, key, { bytes, contentType, fetchedAt: now, expiresAt: never, pinned: true });
    report.tiles++;
    report.zooms[key.z] = (report.zooms[key.z] ?? 0) + 1;
  });
  report.bbox = bbox;
  return report;
}
