import { GraphQLError } from "graphql";
import { ErrorCode, HTTP_STATUS } from "./error-codes.js";

/** A domain error: a code, a message a person can read, and optional details for clients. */
export class GroundviewError extends GraphQLError {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, {
      extensions: { code, ...details },
      originalError: cause instanceof Error ? cause : undefined,
    });
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export const outOfRange = (field: string, message: string, details: Record<string, unknown> = {}) =>
  new GroundviewError(ErrorCode.OUT_OF_RANGE, message, { field, ...details });

/**
 * The one table that maps library and database failures to client-facing errors.
 * Anything unrecognised becomes INTERNAL_SERVER_ERROR with its details hidden.
 */
export function toGroundviewError(err: unknown): GroundviewError {
  if (err instanceof GroundviewError) return err;
  const e = err as { code?: string; name?: string; message?: string };
  const dbCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "57P01", "57P03", "53300", "08006", "08001", "P1001", "P1017"]);
  if ((e?.code && dbCodes.has(e.code)) || e?.name === "PrismaClientInitializationError" || e?.name === "DriverAdapterError") {
    return new GroundviewError(ErrorCode.DATABASE_UNAVAILABLE, "The database is unavailable; try again shortly.", {}, err);
  }
  return new GroundviewError(ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error.", {}, err);
}
