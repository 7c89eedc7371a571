import type { GraphQLFormattedError } from "graphql";
import { ArgumentValidationError } from "type-graphql";
import { ErrorCode, ProtocolCode } from "../errors/error-codes.js";
import { GroundviewError, toGroundviewError } from "../errors/errors.js";

/** Codes that GraphQL/Apollo themselves produce for malformed requests, passed through as they are. */
const PROTOCOL_CODES = new Set<string>(Object.values(ProtocolCode));

/**
 * Gives every error one code from ErrorCode (or a protocol code), and hides internals:
 * unknown errors become INTERNAL_SERVER_ERROR; stack traces only outside production.
 */
export function formatError(production: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code as string | undefined;
    const original = (error as { originalError?: unknown })?.originalError ?? error;
    if (original instanceof ArgumentValidationError) {
      const failures = original.extensions.validationErrors as {
        property: string;
        constraints?: Record<string, string>;
      }[];
      const rangeOnly = failures.every((f) => Object.keys(f.constraints ?? {}).every((c) => c === "min" || c === "max"));
      const message = failures.flatMap((f) => Object.values(f.constraints ?? {})).join("; ");
      return {
        message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: {
          code: rangeOnly ? ErrorCode.OUT_OF_RANGE : ErrorCode.BAD_USER_INPUT,
          field: failures[0]?.property,
        },
      };
    }
    if (code && PROTOCOL_CODES.has(code)) return formatted;
    if (code === "BAD_USER_INPUT")
      return {
        ...formatted,
        extensions: { ...formatted.extensions, code: ErrorCode.BAD_USER_INPUT },
      };
    const gv = original instanceof GroundviewError ? original : toGroundviewError(original);
    const extensions: Record<string, unknown> = { ...gv.extensions };
    if (!production && gv.code === ErrorCode.INTERNAL_SERVER_ERROR && original instanceof Error)
      extensions.stacktrace = original.stack?.split("\n");
    return {
      message: gv.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions,
    };
  };
}
