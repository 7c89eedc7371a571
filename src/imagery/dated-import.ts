/**
 * A raster imported as one acquisition date of a source (issue 14): its tiles are stored under
 * the date's layer ("<source>@<date>", tiles/import-raster.ts does the tiling) and the date is
 * catalogued (imagery-layers.ts). Without a date it is the plain, undated import.
 */
import path from "node:path";
import { type ImportOptions, type ImportReport, importRaster, rasterInfo } from "../tiles/import-raster.js";
import type { TileStore } from "../tiles/tile-store.js";
import { dateFromMetadata, dateFromName, layerId, parseImageryDate } from "./imagery-date.js";
import { recordLayer } from "./imagery-layers.js";

export interface ImageryImportOptions extends ImportOptions {
  /**
   * The acquisition date (YYYY-MM-DD): the tiles go to the source's layer of that date
   * ("<source>@<date>") and the date is catalogued. "auto": from the file's metadata or name
   * (an error when neither has one). Absent: undated, under the source itself.
   */
  date?: string;
}

export interface ImageryImportReport extends ImportReport {
  /** The layer the tiles were stored under: the source, or "<source>@<date>" for a dated import. */
  layer: string;
  date?: string;
}

/** A dated import of a file that says nothing of its date. */
export class ImportDateMissingError extends Error {
  constructor(file: string) {
    super(`${path.basename(file)} carries no acquisition date (neither in its metadata nor in its name): give it with --date YYYY-MM-DD`);
    this.name = "ImportDateMissingError";
  }
}

/** The acquisition date of an import: given (checked), or with "auto" from the metadata, then the name. */
export async function importDate(o: Pick<ImageryImportOptions, "file" | "date">): Promise<string | undefined> {
  if (o.date === undefined) return undefined;
  if (o.date !== "auto") return parseImageryDate(o.date, "--date");
  const found = dateFromMetadata((await rasterInfo(o.file)).metadata?.[""]) ?? dateFromName(o.file);
  if (!found) throw new ImportDateMissingError(o.file);
  return parseImageryDate(found, "the file's date");
}

export async function importImagery(store: TileStore, o: ImageryImportOptions): Promise<ImageryImportReport> {
  const date = await importDate(o);
  const layer = date ? layerId(o.source, date) : o.source;
  const report = await importRaster(store, { ...o, source: layer });
  if (date && report.tiles) await recordLayer(store.prisma, o.source, date, path.basename(o.file));
  return { ...report, layer, date };
}
