import { readdirSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { TileKey, ZoomRange } from "../tile-math.js";
import { type FetchOptions, type FetchResult, type TileSource, UpstreamError } from "./tile-source.js";

const EXTENSIONS = [".png", ".jpg", ".jpeg", ".webp"];

/** Tiles from a local `{z}/{x}/{y}.{png,jpg,jpeg,webp}` directory (e.g. gdal2tiles --xyz output). */
export class DirectorySource implements TileSource {
  readonly kind = "directory";
  readonly id: string;
  readonly zoom: ZoomRange;
  readonly attribution: string;

  constructor(
    readonly dir: string,
    zoomOverride: Partial<ZoomRange>,
    attributionOverride?: string,
  ) {
    const zooms = readdirSync(dir)
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
    this.zoom = {
      minZoom: zoomOverride.minZoom ?? (zooms.length ? Math.min(...zooms) : 0),
      maxZoom: zoomOverride.maxZoom ?? (zooms.length ? Math.max(...zooms) : 22),
    };
    this.attribution = attributionOverride ?? `Local tiles: ${path.basename(path.resolve(dir))}`;
    this.id = `dir-${path.basename(path.resolve(dir))}`;
  }

  async fetch(key: TileKey, opts: FetchOptions): Promise<FetchResult> {
    for (const ext of EXTENSIONS) {
      const file = path.join(this.dir, String(key.z), String(key.x), `${key.y}${ext}`);
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) continue;
      if (st.size > opts.maxBytes) throw new UpstreamError(`tile file of ${st.size} bytes is over the limit`, false);
      return { kind: "ok", tile: { bytes: await readFile(file) } };
    }
    return { kind: "missing" };
  }
}

/** Only what `import-raster` put into the cache: no upstream at all. */
export class ImportedSource implements TileSource {
  readonly kind = "imported";
  readonly id = "imported";

  constructor(
    readonly zoom: ZoomRange,
    readonly attribution: string,
    readonly bounds?: readonly [number, number, number, number],
  ) {}

  async fetch(): Promise<FetchResult> {
    return { kind: "missing" };
  }
}
