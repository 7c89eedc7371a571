import type { ImageryService } from "../imagery/imagery.service.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode } from "../errors/error-codes.js";
import { GroundviewError } from "../errors/errors.js";
import type { TileAnalysisService } from "../analysis/tile-analysis.service.js";
import { sendError, sendImage } from "./respond.js";

export const LANDSCAPE_ROUTE = /^\/landscapes\/([^/]+)\/(\d{1,2})\/(\d{1,8})\/(\d{1,8})\.png$/;

/**
 * GET /landscapes/{modelVersion}/{z}/{x}/{y}.png[?date=YYYY-MM-DD]: a generated landscape (of a date's imagery). The URL names the
 * model version, so it is stable and immutable; the ETag is bound to version and image.
 * Images are regenerated from stored latents by the loaded model version only: an older
 * version's rows are kept, and its links work again once that version is loaded.
 */
export async function serveLandscape(
  req: IncomingMessage,
  res: ServerResponse,
  models: { analysis: TileAnalysisService } | undefined,
  m: RegExpExecArray,
  date: string | null,
  imagery: ImageryService<{ analysis: TileAnalysisService }>,
): Promise<number> {
  try {
    if (!models) throw new GroundviewError(ErrorCode.MODEL_UNAVAILABLE, "the models are not loaded");
    const version = decodeURIComponent(m[1]);
    const key = { z: Number(m[2]), x: Number(m[3]), y: Number(m[4]) };
    // A dated landscape's URL names its date; without one, the undated source's (URLs are immutable: no "latest").
    const info = date === null ? undefined : await imagery.layers.dated(date);
    const analysis = info ? imagery.servicesOf(info)!.analysis : models.analysis;
    const a = await analysis.stored(key, version);
    const image = a && (await analysis.image(a));
    if (!a || !image) {
      throw new GroundviewError(
        ErrorCode.LANDSCAPE_NOT_FOUND,
        `no landscape for ${key.z}/${key.x}/${key.y} with model ${version}; query landscape first`,
      );
    }
    return sendImage(req, res, image, "image/png", {
      etag: `"${a.modelVersion}-${a.imageHash.slice(0, 32)}"`,
      "cache-control": "public, max-age=31536000, immutable",
    });
  } catch (err) {
    return sendError(res, err);
  }
}
