/**
 * Acquisition dates of imagery. A dated import of a source is stored as its own tile layer,
 * `<source>@<YYYY-MM-DD>`: the tile cache, the analysis results, the terrain pieces and the
 * ETags (hashes of the layer's bytes) are all keyed by that layer id, so two dates of one place
 * never mix and everything built on one source works on a date unchanged.
 */
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written YYYY-MM-DD (2019-02-29 is not one). */
export function isCalendarDate(s: string): boolean {
  const m = ISO_DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** A date argument checked: YYYY-MM-DD, a calendar date, from 1900 to today; INVALID_DATE otherwise. */
export function parseImageryDate(value: string, field = "date"): string {
  if (!isCalendarDate(value))
    throw new GroundviewError(ErrorCode.INVALID_DATE, `${field} must be a calendar date written YYYY-MM-DD, not '${value.slice(0, 40)}'`, {
      field,
    });
  const today = new Date().toISOString().slice(0, 10);
  if (value < "1900-01-01" || value > today)
    throw new GroundviewError(ErrorCode.INVALID_DATE, `${field} must be between 1900-01-01 and today (${today}), not ${value}`, {
      field,
    });
  return value;
}

/** The tile layer id of a source's imagery of one date. */
export function layerId(source: string, date: string): string {
  return `${source}@${date}`;
}

/** The date of a layer id of `source`, or undefined when it is not one of its dated layers. */
export function dateOfLayer(source: string, id: string): string | undefined {
  if (!id.startsWith(`${source}@`)) return undefined;
  const date = id.slice(source.length + 1);
  return isCalendarDate(date) ? date : undefined;
}

/**
 * The acquisition date a file name carries: 8 digits YYYYMMDD or YYYY-MM-DD / YYYY_MM_DD, not
 * part of a longer number, that make a calendar date (NAIP's m_4709963_se_14_1_20090818.tif).
 * A bare year (Landsat's 1985.tif) is not a date: the operator gives it with --date.
 */
export function dateFromName(file: string): string | undefined {
  const base = file.split(/[\\/]/).pop() ?? file;
  for (const m of base.matchAll(/(?<!\d)(\d{4})[-_]?(\d{2})[-_]?(\d{2})(?!\d)/g)) {
    const d = `${m[1]}-${m[2]}-${m[3]}`;
    if (isCalendarDate(d) && d >= "1900-01-01") return d;
  }
  return undefined;
}

/**
 * The acquisition date in a raster's metadata (gdalinfo -json `metadata[""]`), under the keys
 * that hold one (ACQUISITION_DATE, ACQUISITIONDATE, DATE_ACQUIRED, SENSING_TIME...). TIFFTAG_DATETIME
 * is when the file was written, not when the picture was taken, and is not used.
 */
export function dateFromMetadata(metadata: Record<string, string> | undefined): string | undefined {
  if (!metadata) return undefined;
  for (const [k, v] of Object.entries(metadata)) {
    if (!/^(ACQUISITION_?DATE|DATE_?ACQUIRED|SENSING_?(TIME|DATE)|ACQUISITION_?TIME)$/i.test(k)) continue;
    const m = /(\d{4})[-:/]?(\d{2})[-:/]?(\d{2})/.exec(v);
    if (m && isCalendarDate(`${m[1]}-${m[2]}-${m[3]}`)) return `${m[1]}-${m[2]}-${m[3]}`;
  }
  return undefined;
}
