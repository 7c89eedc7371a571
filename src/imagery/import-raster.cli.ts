/**
 * Operator command: npm run import-raster -- <file.tif> [--min-zoom 12] [--max-zoom 17]
 *   [--bands 1,2,3] [--scale] [--source imported] [--date YYYY-MM-DD|auto]
 * With --date the tiles are one date of the source, beside its other dates (issue 14); "auto"
 * reads the date from the file's metadata or name (NAIP's m_..._20090818.tif).
 * Stores the raster's tiles in the configured database (DATABASE_URL or the embedded one).
 */
import "reflect-metadata";
import { parseArgs } from "node:util";
import { loadSettings } from "../config/settings.js";
import { openDatabase } from "../db/database.js";
import { DataDirLockedError } from "../db/data-dir-lock.js";
import { GroundviewError } from "../errors/errors.js";
import { GdalMissingError } from "../tiles/import-raster.js";
import { TileStore } from "../tiles/tile-store.js";
import { ImportDateMissingError, importImagery } from "./dated-import.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "min-zoom": { type: "string", default: "12" },
    "max-zoom": { type: "string", default: "17" },
    bands: { type: "string", default: "1,2,3" },
    scale: { type: "boolean", default: false },
    source: { type: "string", default: "imported" },
    date: { type: "string" },
  },
});
if (positionals.length !== 1) {
  console.error(
    "usage: npm run import-raster -- <raster> [--min-zoom N] [--max-zoom N] [--bands 1,2,3] [--scale] [--source ID] [--date YYYY-MM-DD|auto]",
  );
  process.exit(2);
}
const settings = loadSettings();
/** Failures an operator can act on: one line and exit code 1, no stack trace. */
function fail(err: unknown): never {
  if (
    err instanceof GdalMissingError ||
    err instanceof DataDirLockedError ||
    err instanceof ImportDateMissingError ||
    err instanceof GroundviewError
  ) {
    console.error(`import-raster: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
const db = await openDatabase({
  databaseUrl: settings.databaseUrl,
  dataDir: settings.dataDir,
  poolSize: 2,
}).catch(fail);
let failure: unknown;
try {
  const bands = values.bands.split(",").map(Number) as [number, number, number];
  const report = await importImagery(new TileStore(db.prisma), {
    file: positionals[0],
    source: values.source,
    minZoom: Number(values["min-zoom"]),
    maxZoom: Number(values["max-zoom"]),
    bands,
    scale: values.scale || undefined,
    date: values.date,
    maxPixels: settings.tileMaxPixels,
    log: (l) => console.log(l),
  });
  console.log(
    `imported ${report.tiles} tiles into source '${values.source}'${report.date ? ` dated ${report.date} (layer '${report.layer}')` : ""} (per zoom: ${JSON.stringify(report.zooms)}), bbox ${report.bbox.map((v) => v.toFixed(5)).join(",")}`,
  );
  console.log(`serve them with TILE_SOURCE=${values.source === "imported" ? "imported" : values.source}`);
} catch (err) {
  failure = err;
} finally {
  await db.close();
}
if (failure !== undefined) fail(failure);
