/**
 * Decides whether upstream bytes are a tile image worth caching: a known format by magic
 * bytes, decodable by sharp, and within the pixel limit. Anything else is never stored.
 */
import sharp from "sharp";
import { type SquareRgb, squareRgb } from "../imaging/preprocess.js";

export type TileMime = "image/png" | "image/jpeg" | "image/webp";

export class InvalidTileImage extends Error {}

export function sniffMime(b: Uint8Array): TileMime | undefined {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length >= 12 && String.fromCharCode(...b.subarray(0, 4)) === "RIFF" && String.fromCharCode(...b.subarray(8, 12)) === "WEBP") {
    return "image/webp";
  }
  return undefined;
}

/** The tile as the models' square RGB input (squareRgb), made by the decode that validated it. */
export type TilePreview = SquareRgb;

/** Validates tile bytes and returns their MIME type (inspectTileImage without a preview). */
export async function checkTileImage(bytes: Uint8Array, maxPixels: number): Promise<TileMime> {
  return (await inspectTileImage(bytes, maxPixels)).mime;
}

/**
 * Validates tile bytes: their MIME type (from the bytes, not from headers) and, with
 * `previewSize`, the tile as the models' square input (squareRgb), made by the same decode that
 * validates it, so that the models need not decode it again.
 * @throws InvalidTileImage when the bytes are not a decodable image within `maxPixels`
 */
export async function inspectTileImage(
  bytes: Uint8Array,
  maxPixels: number,
  previewSize?: number,
): Promise<{ mime: TileMime; preview?: TilePreview }> {
  const mime = sniffMime(bytes);
  if (!mime) throw new InvalidTileImage("not a PNG, JPEG or WebP image");
  let preview: TilePreview | undefined;
  try {
    if (previewSize) {
      // One decode: sharp refuses an image over limitInputPixels from its header, and a truncated
      // body fails (a JPEG decoded at a reduced scale still reads its whole entropy-coded stream).
      preview = { size: previewSize, rgb: await squareRgb(bytes, previewSize, maxPixels, true) };
    } else {
      const meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
      if (!meta.width || !meta.height) throw new InvalidTileImage("image has no dimensions");
      if (meta.width * meta.height > maxPixels) throw new InvalidTileImage(`image of ${meta.width}x${meta.height} is over the pixel limit`);
      // metadata() reads headers only; a truncated body still fails here.
      await sharp(bytes, { limitInputPixels: maxPixels, failOn: "truncated" }).raw().toBuffer();
    }
  } catch (err) {
    if (err instanceof InvalidTileImage) throw err;
    const msg = (err as Error).message;
    if (/pixel limit/i.test(msg)) throw new InvalidTileImage(`image is over the pixel limit of ${maxPixels}`);
    throw new InvalidTileImage(`undecodable image: ${msg}`);
  }
  return { mime, preview };
}
