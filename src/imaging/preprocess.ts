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

/** Per channel, the normalised value of each byte: (v/255 - mean)/std, computed as the loop did. */
const luts = new WeakMap<ImageInputSpec, Float32Array[]>();
function lutsOf(spec: ImageInputSpec): Float32Array[] {
  let l = luts.get(spec);
  if (!l) {
    l = [0, 1, 2].map((c) => {
      const mean = spec.mean[c];
      const inv = 1 / spec.std[c];
      return Float32Array.from({ length: 256 }, (_, v) => (v / 255 - mean) * inv);
    });
    luts.set(spec, l);
  }
  return l;
}

/** Writes one image's normalised planes into `out` at batch index `i`. */
export function normaliseInto(rgb: Uint8Array, spec: ImageInputSpec, out: Float32Array, i: number): void {
  const [h, w] = spec.size;
  const plane = h * w;
  const base = i * 3 * plane;
  const [r, g, b] = lutsOf(spec);
  for (let p = 0, q = 0; p < plane; p++, q += 3) {
    out[base + p] = r[rgb[q]];
    out[base + plane + p] = g[rgb[q + 1]];
    out[base + 2 * plane + p] = b[rgb[q + 2]];
  }
}

/** squareRgb's result for an image, made earlier (the tile cache's validating decode). */
export interface SquareRgb {
  size: number;
  rgb: Uint8Array;
}

/**
 * A batch of encoded images -> one NCHW tensor buffer. `previews[i]`, when given at the spec's
 * size, is image i's squareRgb already made, and that image is not decoded again.
 */
export async function toBatch(
  images: Uint8Array[],
  spec: ImageInputSpec,
  maxPixels?: number,
  previews?: (SquareRgb | undefined)[],
): Promise<Float32Array> {
  const [h] = spec.size;
  const out = new Float32Array(images.length * 3 * h * h);
  const rgbs = await Promise.all(
    images.map((b, i) => {
      const p = previews?.[i];
      return p && p.size === h && spec.size[1] === h ? p.rgb : squareRgb(b, h, maxPixels);
    }),
  );
  rgbs.forEach((rgb, i) => normaliseInto(rgb, spec, out, i));
  return out;
}

/**
 * The same images as inputs for several models (e.g. the terrain classifier and the encoder at
 * different sizes): each image is decoded once, then cropped and resized once per spec.
 */
export async function toBatches(
  images: Uint8Array[],
  specs: ImageInputSpec[],
  maxPixels = 1 << 24,
  previews?: (SquareRgb | undefined)[],
): Promise<Float32Array[]> {
  if (specs.length === 1) return [await toBatch(images, specs[0], maxPixels, previews)];
  const outs = specs.map((s) => new Float32Array(images.length * 3 * s.size[0] * s.size[0]));
  await Promise.all(
    images.map(async (bytes, i) => {
      const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: "warning" })
        .rotate()
        .removeAlpha()
        .toColourspace("srgb")
        .raw()
        .toBuffer({ resolveWithObject: true });
      const raw = { width: info.width, height: info.height, channels: info.channels };
      await Promise.all(
        specs.map(async (spec, k) => {
          const [h] = spec.size;
          const rgb = await sharp(data, { raw }).resize(h, h, { fit: "cover", position: "centre", kernel: "linear" }).raw().toBuffer();
          normaliseInto(rgb, spec, outs[k], i);
        }),
      );
    }),
  );
  return outs;
}
