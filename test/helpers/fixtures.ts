/** Fixture tiles made on the fly with sharp: no test depends on ../shared. */
import sharp from "sharp";

export async function makeTile(format: "png" | "jpeg" = "png", colour = { r: 30, g: 140, b: 60 }, size = 256): Promise<Buffer> {
  const img = sharp({
    create: { width: size, height: size, channels: 3, background: colour },
  });
  return format === "png" ? img.png().toBuffer() : img.jpeg({ quality: 80 }).toBuffer();
}
