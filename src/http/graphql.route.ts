import type { IncomingMessage, ServerResponse } from "node:http";
import { type ApolloServer, HeaderMap } from "@apollo/server";
import type { GraphQLContext } from "../graphql/context.js";
import processRequest from "graphql-upload/processRequest.mjs";
import { ErrorCode, ProtocolCode } from "../errors/error-codes.js";
import { sendGraphQLError } from "./respond.js";
import { GroundviewError } from "../errors/errors.js";
import type { RequestLimits } from "../limits/limits.plugin.js";
import { rateLimitedError, rateLimitHeaders, type RateLimits } from "../limits/rate-limits.js";

export interface UploadLimits {
  /** Largest uploaded file; one byte more is refused with PAYLOAD_TOO_LARGE. */
  maxBytes: number;
}

/** Largest JSON GraphQL request body accepted (uploads have their own limits). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString("utf8");
}

/** Hands a Node request to Apollo Server (the same steps as Apollo's own integrations). */
export async function serveGraphQL(
  req: IncomingMessage,
  res: ServerResponse,
  apollo: ApolloServer<GraphQLContext>,
  context: GraphQLContext,
  uploads: UploadLimits,
  rateLimits: RateLimits,
): Promise<number> {
  // Who is asking comes first: a bad API key is refused before the body is read.
  let limits: RequestLimits;
  try {
    limits = { client: await rateLimits.identify(req) };
  } catch (err) {
    if (err instanceof GroundviewError) return sendGraphQLError(res, err.httpStatus, err.code, err.message);
    throw err;
  }
  // A client whose minute is used up is refused before its request is read, parsed or costed.
  const spent = rateLimits.exhausted(limits.client);
  if (spent) {
    const e = rateLimitedError(spent);
    for (const [k, v] of Object.entries(rateLimitHeaders(spent))) res.setHeader(k, v);
    return sendGraphQLError(res, e.httpStatus, e.code, e.message, e.details);
  }
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  }
  let body: unknown = undefined;
  /** A JSON body as sent, for refusing a body refused this minute again without parsing it. */
  let jsonBody: string | undefined;
  const multipart = (headers.get("content-type") ?? "").startsWith("multipart/form-data");
  if (req.method === "POST" && multipart) {
    // Apollo's CSRF prevention still applies: multipart is a "simple" content type, so
    // browsers' cross-site forms are refused unless they send a preflight-forcing header.
    const csrfSafe = headers.has("apollo-require-preflight") || headers.has("x-apollo-operation-name");
    if (!csrfSafe) {
      return sendGraphQLError(
        res,
        400,
        ProtocolCode.BAD_REQUEST,
        "multipart requests need an 'Apollo-Require-Preflight: true' header (CSRF prevention)",
      );
    }
    try {
      // One byte over the limit lets the resolver tell "too large" from "exactly the limit".
      body = await processRequest(req, res, { maxFiles: 1, maxFileSize: uploads.maxBytes + 1, maxFieldSize: MAX_JSON_BODY_BYTES });
      // Parsed already, and checked for CSRF above: hand Apollo the operations as JSON.
      headers.set("content-type", "application/json");
    } catch (err) {
      const status = (err as { status?: number }).status ?? 400;
      return sendGraphQLError(res, status, status === 413 ? ErrorCode.PAYLOAD_TOO_LARGE : ProtocolCode.BAD_REQUEST, (err as Error).message);
    }
  } else if (req.method === "POST") {
    const raw = await readBody(req, MAX_JSON_BODY_BYTES);
    if (raw === undefined) {
      return sendGraphQLError(res, 413, ErrorCode.PAYLOAD_TOO_LARGE, `request body over ${MAX_JSON_BODY_BYTES} bytes`);
    }
    if ((headers.get("content-type") ?? "").includes("application/json")) {
      jsonBody = raw;
      const again = rateLimits.refusedAgain(limits.client, raw);
      if (again) {
        const e = rateLimitedError(again.charge, again.cost);
        for (const [k, v] of Object.entries(rateLimitHeaders(again.charge))) res.setHeader(k, v);
        return sendGraphQLError(res, e.httpStatus, e.code, e.message, e.details);
      }
      try {
        body = raw.length ? JSON.parse(raw) : undefined;
      } catch {
        return sendGraphQLError(res, 400, ProtocolCode.BAD_REQUEST, "request body is not valid JSON");
      }
    } else {
      body = raw;
    }
  }
  const url = new URL(req.url ?? "/", "http://localhost");
  const result = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: {
      method: req.method ?? "GET",
      headers,
      search: url.search,
      body,
    },
    context: async () => ({ ...context, limits }),
  });
  // Refusals before execution (cost, rate limit) set their own status; the charge sets the RateLimit headers.
  const status = limits.status ?? result.status ?? 200;
  if (jsonBody !== undefined && limits.charge && limits.cost !== undefined) {
    rateLimits.rememberRefusal(limits.client, jsonBody, limits.cost, limits.charge);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of result.headers) out[k] = v;
  if (limits.charge) Object.assign(out, rateLimitHeaders(limits.charge));
  if (result.body.kind === "complete") {
    out["content-length"] = String(Buffer.byteLength(result.body.string));
    res.writeHead(status, out);
    res.end(result.body.string);
  } else {
    res.writeHead(status, out);
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }
  return status;
}
