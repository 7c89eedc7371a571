/**
 * A real XYZ tile server on loopback whose behaviour each test scripts: delays, status codes,
 * garbage bodies, ETags and 304s. It counts requests per path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Behaviour = (req: IncomingMessage, res: ServerResponse, attempt: number) => void | Promise<void>;

export interface FakeUpstream {
  template: string;
  url: string;
  hits(path?: string): number;
  /** Requests seen, with their conditional headers. */
  log: { path: string; ifNoneMatch?: string }[];
  setBehaviour(b: Behaviour): void;
  close(): Promise<void>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startUpstream(initial: Behaviour): Promise<FakeUpstream> {
  let behaviour = initial;
  const counts = new Map<string, number>();
  const log: FakeUpstream["log"] = [];
  const server: Server = createServer(async (req, res) => {
    const path = req.url ?? "/";
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    log.push({
      path,
      ifNoneMatch: req.headers["if-none-match"] as string | undefined,
    });
    try {
      await behaviour(req, res, n);
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    template: `${url}/{z}/{x}/{y}.img`,
    log,
    hits: (p?: string) => (p ? (counts.get(p) ?? 0) : [...counts.values()].reduce((a, b) => a + b, 0)),
    setBehaviour: (b) => {
      behaviour = b;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Serves `bytes` for every tile, with an ETag, answering If-None-Match with 304. */
export function serveBytes(
  bytes: Buffer,
  contentType = "image/png",
  opts: { delayMs?: number; etag?: string; maxAge?: number } = {},
): Behaviour {
  return async (req, res) => {
    if (opts.delayMs) await sleep(opts.delayMs);
    const etag = opts.etag ?? '"v1"';
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    const headers: Record<string, string | number> = {
      "content-type": contentType,
      "content-length": bytes.length,
      etag,
    };
    if (opts.maxAge !== undefined) headers["cache-control"] = `max-age=${opts.maxAge}`;
    res.writeHead(200, headers);
    res.end(bytes);
  };
}
