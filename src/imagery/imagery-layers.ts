/**
 * The dated layers of the service's tile source (issue 14): which dates it has, where, and which
 * one answers a request. Catalogue rows (imagery_layer) are written by dated imports
 * (import-raster --date) from the tiles they stored; the service reads them, at most
 * LAYER_LIST_TTL_MS old, so an import made by another process shows within seconds.
 *
 * Which imagery answers: a request with a date reads that date's layer (IMAGERY_DATE_NOT_FOUND
 * when the source has no such date); without one, the latest date whose imagery covers the
 * request (its box intersects the layer's extent at a zoom it holds), else the undated source.
 */
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import type { Box } from "../geo/dated.js";
import { dateOfLayer, layerId, parseImageryDate } from "./imagery-date.js";

export interface ImageryLayerInfo {
  layer: string;
  date: string;
  tiles: number;
  minZoom: number;
  maxZoom: number;
  /** [west, south, east, north], EPSG:4326: the extent of the stored tiles. */
  bounds: [number, number, number, number];
  file: string | null;
  importedAt: Date;
}

const LAYER_LIST_TTL_MS = 5000;

const intersects = (a: Box, b: Box) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

export class ImageryLayers {
  private cached: { at: number; layers: Promise<ImageryLayerInfo[]> } | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    /** The undated source's id; its dated layers are "<source>@<date>". */
    readonly source: string,
  ) {}

  /** Every dated layer of the source, newest first. */
  async list(): Promise<ImageryLayerInfo[]> {
    if (!this.cached || Date.now() - this.cached.at > LAYER_LIST_TTL_MS) {
      const layers = readLayers(this.prisma, this.source);
      this.cached = { at: Date.now(), layers };
      layers.catch(() => (this.cached = undefined));
    }
    return this.cached.layers;
  }

  /** The dates whose imagery intersects a box, newest first. */
  async dates(box: Box): Promise<ImageryLayerInfo[]> {
    return (await this.list()).filter((l) => intersects(l.bounds, box));
  }

  /** The layer of a date (checked: INVALID_DATE; IMAGERY_DATE_NOT_FOUND when the source has none of it). */
  async dated(date: string, field = "date"): Promise<ImageryLayerInfo> {
    const d = parseImageryDate(date, field);
    const layers = await this.list();
    const found = layers.find((l) => l.date === d);
    if (found) return found;
    // A date imported a moment ago by another process: read the catalogue again before refusing.
    this.cached = undefined;
    const fresh = (await this.list()).find((l) => l.date === d);
    if (fresh) return fresh;
    throw new GroundviewError(
      ErrorCode.IMAGERY_DATE_NOT_FOUND,
      `the source '${this.source}' has no imagery dated ${d}` +
        (layers.length ? `; it has ${layers.map((l) => l.date).join(", ")}` : "; it has no dated imagery"),
      { field, date: d, available: layers.map((l) => l.date) },
    );
  }

  /**
   * The layer that answers: the given date's (see dated), or without one the latest whose
   * extent meets `box` at zoom `z`; undefined: the undated source.
   */
  async resolve(date: string | null | undefined, box: Box, z?: number, field = "date"): Promise<ImageryLayerInfo | undefined> {
    if (date !== undefined && date !== null) return this.dated(date, field);
    return (await this.list()).find((l) => intersects(l.bounds, box) && (z === undefined || (z >= l.minZoom && z <= l.maxZoom)));
  }

  /** Forget the cached catalogue (after an import in this process). */
  invalidate(): void {
    this.cached = undefined;
  }
}

async function readLayers(prisma: PrismaClient, source: string): Promise<ImageryLayerInfo[]> {
  const rows = await prisma.imageryLayer.findMany({ where: { source }, orderBy: { acquiredOn: "desc" } });
  return rows.flatMap((r) => {
    const date = dateOfLayer(source, r.layer);
    if (!date) return [];
    return [
      {
        layer: r.layer,
        date,
        tiles: r.tiles,
        minZoom: r.minZoom,
        maxZoom: r.maxZoom,
        bounds: [r.west, r.south, r.east, r.north] as Box,
        file: r.file,
        importedAt: r.importedAt,
      },
    ];
  });
}

/**
 * Writes (or rewrites) the catalogue row of a source's date from the pinned tiles its layer
 * holds: count, zooms and extent (of its finest zoom's tiles). Called by a dated import once its tiles are stored, so a
 * second import of the same date (another file of the same day) widens the row.
 */
export async function recordLayer(prisma: PrismaClient, source: string, date: string, file?: string): Promise<ImageryLayerInfo> {
  const layer = layerId(source, date);
  // The extent is the finest zoom's tiles': a z12 tile of a small raster spans ~10 km past it.
  const [r] = await prisma.$queryRaw<
    { n: bigint | number; minz: number | null; maxz: number; w: number; s: number; e: number; no: number }[]
  >`
    WITH t AS (SELECT z, bounds FROM satellite_tile WHERE source = ${layer} AND pinned AND status = 'AVAILABLE'),
    finest AS (SELECT ST_Extent(bounds) AS x FROM t WHERE z = (SELECT max(z) FROM t))
    SELECT (SELECT count(*) FROM t) AS n, (SELECT min(z) FROM t) AS minz, (SELECT max(z) FROM t) AS maxz,
           ST_XMin(x) AS w, ST_YMin(x) AS s, ST_XMax(x) AS e, ST_YMax(x) AS no
    FROM finest`;
  if (r.minz === null) throw new Error(`no tiles are stored under ${layer}`);
  const data = {
    source,
    acquiredOn: new Date(`${date}T00:00:00Z`),
    tiles: Number(r.n),
    minZoom: Number(r.minz),
    maxZoom: Number(r.maxz),
    west: Number(r.w),
    south: Number(r.s),
    east: Number(r.e),
    north: Number(r.no),
    file: file ?? null,
    importedAt: new Date(),
  };
  await prisma.imageryLayer.upsert({ where: { layer }, create: { layer, ...data }, update: data });
  return {
    layer,
    date,
    tiles: data.tiles,
    minZoom: data.minZoom,
    maxZoom: data.maxZoom,
    bounds: [data.west, data.south, data.east, data.north],
    file: data.file,
    importedAt: data.importedAt,
  };
}
