/**
 * The map page and its assets: `/` (web/index.html), `/web/*` (the page's own files) and
 * `/vendor/maplibre-gl/*` (MapLibre GL JS from its npm package, so the page works offline and
 * without a CDN). A fixed list read into memory at start-up; nothing else on disk is reachable.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface Asset {
  bytes: Buffer;
  type: string;
  etag: string;
  /** Vendor files change only with the package version: cache them for a day. */
  cacheControl: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** What the page may load: its own origin, blob: images (photo preview) and MapLibre's workers. */
const CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "worker-src 'self' blob:",
  "child-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The repository folder holding web/index.html, found from this module's location (src/ or dist/src/). */
function findWebDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, "web", "index.html"))) return path.join(dir, "web");
    dir = path.dirname(dir);
  }
  throw new Error("web/index.html was not found next to the service's code");
}

function asset(file: string, vendor: boolean): Asset {
  const bytes = readFileSync(file);
  return {
    bytes,
    type: TYPES[path.extname(file)] ?? "application/octet-stream",
    etag: `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 27)}"`,
    cacheControl: vendor ? "public, max-age=86400" : "no-cache",
  };
}

/** Reads the page and MapLibre's browser files (not its source maps or typings). */
export function loadStaticAssets(): Map<string, Asset> {
  const web = findWebDir();
  const assets = new Map<string, Asset>();
  assets.set("/", asset(path.join(web, "index.html"), false));
  for (const f of readdirSync(web)) {
    if (f !== "index.html" && TYPES[path.extname(f)]) assets.set(`/web/${f}`, asset(path.join(web, f), false));
  }
  const maplibre = path.join(path.dirname(createRequire(import.meta.url).resolve("maplibre-gl/package.json")), "dist");
  for (const f of ["maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"]) {
    assets.set(`/vendor/maplibre-gl/${f}`, asset(path.join(maplibre, f), true));
  }
  return assets;
}

/** Serves one asset with its ETag (304 on a match) and, for the page, a content security policy. */
export function serveStatic(req: IncomingMessage, res: ServerResponse, a: Asset): number {
  const headers: Record<string, string> = {
    etag: a.etag,
    "cache-control": a.cacheControl,
    "x-content-type-options": "nosniff",
  };
  if (a.type.startsWith("text/html")) headers["content-security-policy"] = CSP;
  if (req.headers["if-none-match"] === a.etag) {
    res.writeHead(304, headers);
    res.end();
    return 304;
  }
  res.writeHead(200, { ...headers, "content-type": a.type, "content-length": String(a.bytes.byteLength) });
  res.end(req.method === "HEAD" ? undefined : a.bytes);
  return 200;
}
