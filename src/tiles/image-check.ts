/**
 * Decides whether upstream bytes are a tile image worth caching: a known format by magic
 * bytes, decodable by sharp, and within the pixel limit. Anything else is never stored.
 */
import sharp from "sharp";

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

/**
 * Validates tile bytes and returns their MIME type (from the bytes, not from headers).
 * @throws InvalidTileImage when the bytes are not a decodable image within `maxPixels`
 */
export async function checkTileImage(bytes: Uint8Array, maxPixels: number): Promise<TileMime> {
  const mime = sniffMime(bytes);
  if (!mime) throw new InvalidTileImage("not a PNG, JPEG or WebP image");
  try {
    const meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
    if (!meta.width || !meta.height) throw new InvalidTileImage("image has no dimensions");
    if (meta.width * meta.height > maxPixels) throw new InvalidTileImage(`image of ${meta.width}x${meta.height} is over the pixel limit`);
    // metadata() reads headers only; a truncated body still fails here.
    await sharp(bytes, { limitInputPixels: maxPixels, failOn: "truncated" }).raw().toBuffer();
  } catch (err) {
    if (err instanceof InvalidTileImage) throw err;
    throw new InvalidTileImage(`undecodable image: ${(err as Error).message}`);
  }
  return mime;
}
