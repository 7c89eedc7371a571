import sharp from "sharp";

/** Generator output (3×H×W planes in [-1, 1]) -> PNG bytes. */
export async function generatedToPng(chw: Float32Array, width: number, height: number): Promise<Buffer> {
  const plane = width * height;
  const rgb = Buffer.alloc(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round((chw[c * plane + p] + 1) * 127.5);
      rgb[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
