/**
 * Image -> model input, exactly as the export contract says: centre-crop to a square, resize
 * to the input size (bilinear), then per channel (pixel/255 - mean)/std, NCHW float32 RGB.
 */
import sharp from "sharp";
import type { ImageInputSpec } from "../inference/manifest.js";

/**
 * Decodes (honouring EXIF orientation), crops and resizes to raw RGB bytes. With
 * `failOnTruncated`, a truncated or corrupt file throws instead of decoding partially.
 */
export async function squareRgb(input: Uint8Array, size: number, maxPixels = 1 << 24, failOnTruncated = false): Promise<Buffer> {
  return sharp(input, { limitInputPixels: maxPixels, failOn: failOnTruncated ? "truncated" : "warning" })
    .rotate()
    .removeAlpha()
    .toColourspace("srgb")
    .resize(size, size, { fit: "cover", position: "centre", kernel: "linear" })
    .raw()
    .toBuffer();
}

/** Writes one image's normalised planes into `out` at batch index `i`. */
export function normaliseInto(rgb: Uint8Array, spec: ImageInputSpec, out: Float32Array, i: number): void {
  const [h, w] = spec.size;
  const plane = h * w;
  const base = i * 3 * plane;
  for (let c = 0; c < 3; c++) {
    const mean = spec.mean[c];
    const inv = 1 / spec.std[c];
    const o = base + c * plane;
    for (let p = 0; p < plane; p++) out[o + p] = (rgb[p * 3 + c] / 255 - mean) * inv;
  }
}

/** A batch of encoded images -> one NCHW tensor buffer. */
export async function toBatch(images: Uint8Array[], spec: ImageInputSpec, maxPixels?: number): Promise<Float32Array> {
  const [h] = spec.size;
  const out = new Float32Array(images.length * 3 * h * h);
  const rgbs = await Promise.all(images.map((b) => squareRgb(b, h, maxPixels)));
  rgbs.forEach((rgb, i) => normaliseInto(rgb, spec, out, i));
  return out;
}
