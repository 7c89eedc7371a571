/**
 * Maintainer command: builds the bundled offline sample area from a NAIP GeoTIFF.
 *   npm run build-sample -- <naip.tif> [--date YYYY-MM-DD] [--out sample/naip-nd-<date>.mbtiles]
 *     [--min-zoom 12] [--max-zoom 17] [--quality 82]
 * The date defaults to the one in a NAIP file name (m_4709963_se_14_1_20200831.tif → 2020-08-31).
 */
import { parseArgs } from "node:util";
import path from "node:path";
import { GdalMissingError } from "./import-raster.js";
import { buildSample } from "./sample-area.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    date: { type: "string" },
    out: { type: "string" },
    "min-zoom": { type: "string", default: "12" },
    "max-zoom": { type: "string", default: "17" },
    quality: { type: "string", default: "82" },
  },
});
if (positionals.length !== 1) {
  console.error("usage: npm run build-sample -- <naip.tif> [--date YYYY-MM-DD] [--out FILE] [--min-zoom N] [--max-zoom N] [--quality Q]");
  process.exit(2);
}
const file = positionals[0];
const fromName = /_(\d{4})(\d{2})(\d{2})\.tif+$/i.exec(path.basename(file));
const date = values.date ?? (fromName ? `${fromName[1]}-${fromName[2]}-${fromName[3]}` : undefined);
if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
  console.error("build-sample: give --date YYYY-MM-DD (the file name has none)");
  process.exit(2);
}
try {
  const r = await buildSample({
    file,
    out: values.out ?? `sample/naip-nd-${date}.mbtiles`,
    date,
    name: `naip-nd-${date}`,
    attribution: `USDA NAIP ${date.slice(0, 4)} (public domain)`,
    minZoom: Number(values["min-zoom"]),
    maxZoom: Number(values["max-zoom"]),
    quality: Number(values.quality),
    log: (l) => console.log(l),
  });
  console.log(
    `${r.name}: ${r.tiles} tiles, ${(r.bytes / 1e6).toFixed(2)} MB of images (per zoom: ${JSON.stringify(r.zooms)}), bounds ${r.bounds.map((v) => v.toFixed(5)).join(",")}`,
  );
} catch (err) {
  if (err instanceof GdalMissingError) {
    console.error(`build-sample: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
