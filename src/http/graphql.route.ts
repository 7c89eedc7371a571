import type { IncomingMessage, ServerResponse } from "node:http";
import { type ApolloServer, HeaderMap } from "@apollo/server";
import type { GraphQLContext } from "../graphql/context.js";
import { sendJson } from "./respond.js";

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
): Promise<number> {
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  }
  let body: unknown = undefined;
  if (req.method === "POST") {
    const raw = await readBody(req, MAX_JSON_BODY_BYTES);
    if (raw === undefined) {
      return sendJson(res, 413, {
        errors: [
          {
            message: `request body over ${MAX_JSON_BODY_BYTES} bytes`,
            extensions: { code: "PAYLOAD_TOO_LARGE" },
          },
        ],
      });
    }
    if ((headers.get("content-type") ?? "").includes("application/json")) {
      try {
        body = raw.length ? JSON.parse(raw) : undefined;
      } catch {
        return sendJson(res, 400, {
          errors: [
            {
              message: "request body is not valid JSON",
              extensions: { code: "BAD_REQUEST" },
            },
          ],
        });
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
    context: async () => context,
  });
  const status = result.status ?? 200;
  const out: Record<string, string> = {};
  for (const [k, v] of result.headers) out[k] = v;
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
