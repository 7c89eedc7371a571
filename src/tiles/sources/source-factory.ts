import { existsSync, statSync } from "node:fs";
import type { Settings } from "../../config/settings.js";
import { DirectorySource, ImportedSource } from "./directory.source.js";
import { MbtilesSource } from "./mbtiles.source.js";
import { TILE_PRESETS } from "./presets.js";
import type { TileSource } from "./tile-source.js";
import { XyzHttpSource } from "./xyz-http.source.js";

/** What the store holds of an imported source: its zooms and extent. */
export interface ImportedCoverage {
  minZoom: number;
  maxZoom: number;
  bounds: [number, number, number, number];
}

/**
 * Builds the configured source from TILE_SOURCE: a preset name, `imported`, an
 * `mbtiles:<path>`, an http(s) XYZ template, or a directory path. `imported` serves the zooms
 * and extent that were imported (`coverage`) when neither TILE_MIN_ZOOM nor TILE_MAX_ZOOM is set:
 * a point's default zoom is then clamped to them (a 12-16 import answers at 16, not
 * TILE_NOT_FOUND at 17), and other zooms are refused with the range in the error.
 */
export function createTileSource(s: Settings, coverage?: ImportedCoverage): TileSource {
  const spec = s.tileSource;
  const zoom = { minZoom: s.tileMinZoom, maxZoom: s.tileMaxZoom };
  const preset = TILE_PRESETS[spec];
  if (preset) {
    return new XyzHttpSource(
      preset.template,
      {
        minZoom: zoom.minZoom ?? preset.minZoom,
        maxZoom: zoom.maxZoom ?? preset.maxZoom,
      },
      s.tileAttribution ?? preset.attribution,
      s.upstreamUserAgent,
      spec,
    );
  }
  if (spec === "imported") {
    const cover = zoom.minZoom === undefined && zoom.maxZoom === undefined ? coverage : undefined;
    return new ImportedSource(
      { minZoom: zoom.minZoom ?? cover?.minZoom ?? 0, maxZoom: zoom.maxZoom ?? cover?.maxZoom ?? 22 },
      s.tileAttribution ?? "Imported imagery",
      cover?.bounds,
    );
  }
  if (spec.startsWith("mbtiles:")) return new MbtilesSource(spec.slice("mbtiles:".length), zoom, s.tileAttribution);
  if (/^https?:\/\//.test(spec)) {
    return new XyzHttpSource(
      spec,
      { minZoom: zoom.minZoom ?? 0, maxZoom: zoom.maxZoom ?? 19 },
      s.tileAttribution ?? new URL(spec).host,
      s.upstreamUserAgent,
    );
  }
  if (existsSync(spec) && statSync(spec).isDirectory()) return new DirectorySource(spec, zoom, s.tileAttribution);
  throw new Error(
    `TILE_SOURCE '${spec}' is not a preset (${Object.keys(TILE_PRESETS).join(", ")}), 'imported', mbtiles:<file>, an http(s) XYZ template or a directory`,
  );
}
