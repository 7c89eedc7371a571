import type { ServerResponse } from "node:http";
import { ErrorCode, HTTP_STATUS } from "../errors/error-codes.js";
import { toGroundviewError } from "../errors/errors.js";

/** Writes `{ "error": { "code", "message", ...details } }` with the code's HTTP status. */
export function sendError(res: ServerResponse, err: unknown): number {
  const gv = toGroundviewError(err);
  return sendJson(res, HTTP_STATUS[gv.code] ?? 500, { error: { code: gv.code, message: gv.message, ...gv.details } });
}

export function sendJson(res: ServerResponse, status: number, obj: unknown): number {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(body);
  return status;
}

export const notFound = (res: ServerResponse) =>
  sendJson(res, 404, {
    error: { code: ErrorCode.NOT_FOUND, message: "no such route" },
  });
