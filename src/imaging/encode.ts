import sharp from "sharp";

/** Generator output (3×H×W planes in [-1, 1]) -> PNG bytes (fast deflate: these are small). */
export async function generatedToPng(chw: Float32Array, width: number, height: number): Promise<Buffer> {
  const plane = width * height;
  const rgb = Buffer.allocUnsafe(plane * 3);
  for (let c = 0; c < 3; c++) {
    const o = c * plane;
    for (let p = 0, q = c; p < plane; p++, q += 3) {
      const v = (chw[o + p] + 1) * 127.5 + 0.5;
      rgb[q] = v <= 0 ? 0 : v >= 255 ? 255 : v | 0;
    }
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 2, adaptiveFiltering: false })
    .toBuffer();
}
