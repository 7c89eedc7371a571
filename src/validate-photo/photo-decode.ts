/** Reads an upload within limits and decodes it with sharp (EXIF orientation honoured). */
import type { Readable } from "node:stream";
import exifReader from "exif-reader";
import { squareRgb } from "../imaging/preprocess.js";
import sharp, { type Metadata } from "sharp";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";

const FORMATS = new Set(["jpeg", "png", "webp", "heif", "avif", "tiff"]);

export interface PhotoLimits {
  maxBytes: number;
  maxPixels: number;
}

export interface DecodedPhoto {
  format: string;
  gps?: { lat: number; lon: number };
  /** Centre-cropped, resized RGB bytes (size × size × 3), EXIF orientation applied. */
  rgb: Buffer;
}

const tooLarge = (message: string, limit: number) => new GroundviewError(ErrorCode.PAYLOAD_TOO_LARGE, message, { limit });
const unsupported = (message: string) => new GroundviewError(ErrorCode.UNSUPPORTED_IMAGE, message);

export async function readLimited(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        stream.destroy();
        throw tooLarge(`the photo is over the ${maxBytes}-byte limit`, maxBytes);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof GroundviewError) throw err;
    // graphql-upload ends an upload over its maxFileSize with an HTTP 413 error.
    if ((err as { status?: number }).status === 413) {
      throw tooLarge(`the photo is over the ${maxBytes}-byte limit`, maxBytes);
    }
    throw new GroundviewError(ErrorCode.BAD_USER_INPUT, `the upload failed: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks, total);
}

function dms(v: unknown, ref: unknown): number | undefined {
  if (!Array.isArray(v) || v.length !== 3 || v.some((n) => typeof n !== "number" || !Number.isFinite(n))) return undefined;
  const deg = v[0] + v[1] / 60 + v[2] / 3600;
  return ref === "S" || ref === "W" ? -deg : deg;
}

/** GPS position from EXIF, when present and sane. */
export function exifGps(exif: Buffer | undefined): { lat: number; lon: number } | undefined {
  if (!exif) return undefined;
  try {
    const gps = exifReader(exif).GPSInfo;
    const lat = dms(gps?.GPSLatitude, gps?.GPSLatitudeRef);
    const lon = dms(gps?.GPSLongitude, gps?.GPSLongitudeRef);
    if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
    return { lat, lon };
  } catch {
    return undefined;
  }
}

/**
 * Validates format, size and integrity, and decodes the photo once into the classifier's
 * `size` × `size` RGB input. Non-images and truncated files fail with UNSUPPORTED_IMAGE;
 * byte or pixel limits with PAYLOAD_TOO_LARGE.
 */
export async function decodePhoto(bytes: Buffer, limits: PhotoLimits, size: number): Promise<DecodedPhoto> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw unsupported("the upload is not an image (JPEG, PNG, WebP, HEIF, AVIF or TIFF)");
  }
  if (!meta.format || !FORMATS.has(meta.format)) throw unsupported(`unsupported image format: ${meta.format ?? "unknown"}`);
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > limits.maxPixels) throw tooLarge(`the photo has ${pixels} pixels; the limit is ${limits.maxPixels}`, limits.maxPixels);
  let rgb: Buffer;
  try {
    // The full decode also catches truncated and corrupt files that headers alone do not show.
    rgb = await squareRgb(bytes, size, limits.maxPixels, true);
  } catch (err) {
    throw unsupported(`the image is truncated or corrupt (${(err as Error).message})`);
  }
  return { format: meta.format, gps: exifGps(meta.exif), rgb };
}
