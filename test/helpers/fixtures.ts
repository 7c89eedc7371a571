/** Fixture tiles and rasters made on the fly (sharp, GDAL): no test depends on ../shared. */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";

/**
 * A 400x300 px GeoTIFF like the NAIP files (4 bands R, G, B, NIR; 5 m pixels in UTM 14N near
 * 47N 99W), written into `dir` by GDAL under `name`.
 */
export async function makeGeoTiff(dir: string, name = "area.tif", green = 120): Promise<string> {
  const raw = Buffer.alloc(400 * 300 * 4);
  for (let i = 0; i < 400 * 300; i++) raw.set([40 + (i % 400) / 4, green, 60 + Math.floor(i / 400) / 3, 200], i * 4);
  const png = path.join(dir, `${name}.png`);
  await writeFile(
    png,
    await sharp(raw, { raw: { width: 400, height: 300, channels: 4 } })
      .png()
      .toBuffer(),
  );
  const tif = path.join(dir, name);
  execFileSync("gdal_translate", [
    "-q",
    "-of",
    "GTiff",
    "-a_srs",
    "EPSG:26914",
    "-a_ullr",
    "488000",
    "5208000",
    "490000",
    "5206500",
    png,
    tif,
  ]);
  return tif;
}

export async function makeTile(format: "png" | "jpeg" = "png", colour = { r: 30, g: 140, b: 60 }, size = 256): Promise<Buffer> {
  const img = sharp({
    create: { width: size, height: size, channels: 3, background: colour },
  });
  return format === "png" ? img.png().toBuffer() : img.jpeg({ quality: 80 }).toBuffer();
}

/**
 * A directory tile source of textured synthetic tiles (stripes, blobs and noise in varied
 * colours) covering columns x0..x0+n-1 and rows y0..y0+n-1 at zoom z.
 */
export async function makeTileDirectory(dir: string, z: number, x0: number, y0: number, n: number): Promise<void> {
  const { mkdir, writeFile } = await import("node:fs/promises");
  const path = await import("node:path");
  for (let x = x0; x < x0 + n; x++) {
    await mkdir(path.join(dir, String(z), String(x)), { recursive: true });
    for (let y = y0; y < y0 + n; y++) {
      const hue = ((x * 37 + y * 91) % 360) / 360;
      const svg = `<svg width="256" height="256" xmlns="http://www.w3.org/2000/svg">
        <rect width="256" height="256" fill="hsl(${Math.round(hue * 360)},45%,40%)"/>
        ${Array.from({ length: 12 }, (_, i) => `<circle cx="${(i * 53 + x) % 256}" cy="${(i * 97 + y) % 256}" r="${10 + ((i * 7) % 30)}" fill="hsl(${(Math.round(hue * 360) + i * 20) % 360},35%,${30 + i * 3}%)"/>`).join("")}
        <rect x="0" y="${(x * 13) % 200}" width="256" height="14" fill="#999"/>
      </svg>`;
      await writeFile(path.join(dir, String(z), String(x), `${y}.jpg`), await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer());
    }
  }
}
