/** Fixture tiles made on the fly with sharp: no test depends on ../shared. */
import sharp from "sharp";

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
