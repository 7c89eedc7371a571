import { createHash } from "node:crypto";
import type { TileKey, ZoomRange } from "../tile-math.js";
import { type FetchOptions, type FetchResult, type TileSource, UpstreamError } from "./tile-source.js";

/** Expands {z}, {x}, {y} and {-y} (TMS row) in an XYZ template. */
export function expandTemplate(template: string, k: TileKey): string {
  return template
    .replaceAll("{z}", String(k.z))
    .replaceAll("{x}", String(k.x))
    .replaceAll("{-y}", String(2 ** k.z - 1 - k.y))
    .replaceAll("{y}", String(k.y));
}

export function parseMaxAge(cacheControl: string | null): number | undefined {
  if (!cacheControl) return undefined;
  if (/\b(no-store|no-cache)\b/i.test(cacheControl)) return 0;
  const m = /\bmax-age=(\d+)/i.exec(cacheControl);
  return m ? Number(m[1]) : undefined;
}

/** Reads a response body, aborting as soon as it passes `maxBytes`. */
async function readLimited(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new UpstreamError(`tile of ${declared} bytes is over the ${maxBytes}-byte limit`, false);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new UpstreamError(`tile is over the ${maxBytes}-byte limit`, false);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** Tiles over HTTP(S) from an XYZ URL template, with conditional revalidation. */
export class XyzHttpSource implements TileSource {
  readonly kind = "xyz";
  readonly id: string;

  constructor(
    readonly template: string,
    readonly zoom: ZoomRange,
    readonly attribution: string,
    private readonly userAgent: string,
    id?: string,
  ) {
    if (!/^https?:\/\//.test(template) || !template.includes("{z}") || !template.includes("{x}") || !/\{-?y\}/.test(template)) {
      throw new Error(`not an XYZ URL template with {z}, {x} and {y}: ${template}`);
    }
    this.id = id ?? `xyz-${createHash("sha256").update(template).digest("hex").slice(0, 12)}`;
  }

  async fetch(key: TileKey, opts: FetchOptions): Promise<FetchResult> {
    const headers: Record<string, string> = {
      "user-agent": this.userAgent,
      accept: "image/*",
    };
    if (opts.validators.etag) headers["if-none-match"] = opts.validators.etag;
    if (opts.validators.lastModified) headers["if-modified-since"] = opts.validators.lastModified;
    let res: Response;
    try {
      res = await fetch(expandTemplate(this.template, key), {
        headers,
        signal: opts.signal,
        redirect: "follow",
      });
    } catch (err) {
      const e = err as Error;
      const timeout = e.name === "TimeoutError" || e.name === "AbortError";
      throw new UpstreamError(timeout ? "upstream timed out" : `upstream unreachable: ${e.message}`, true);
    }
    const maxAgeSeconds = parseMaxAge(res.headers.get("cache-control"));
    if (res.status === 304) return { kind: "not-modified", maxAgeSeconds };
    if (res.status === 404 || res.status === 204 || res.status === 410) {
      await res.body?.cancel();
      return { kind: "missing" };
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      const retryable = res.status === 429 || res.status === 408 || res.status >= 500;
      throw new UpstreamError(`upstream answered HTTP ${res.status}`, retryable, res.status);
    }
    const bytes = await readLimited(res, opts.maxBytes);
    if (bytes.byteLength === 0) return { kind: "missing" };
    return {
      kind: "ok",
      tile: {
        bytes,
        etag: res.headers.get("etag") ?? undefined,
        lastModified: res.headers.get("last-modified") ?? undefined,
        maxAgeSeconds,
      },
    };
  }
}
