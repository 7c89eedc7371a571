/** Wires config -> database -> tile cache -> schema -> HTTP server. Used by index.ts and tests. */
import "reflect-metadata";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import type { Settings } from "./config/settings.js";
import { type Database, openDatabase } from "./db/database.js";
import type { GraphQLContext } from "./graphql/context.js";
import { formatError } from "./graphql/format-error.js";
import { buildGroundviewSchema } from "./graphql/schema.js";
import { createHttpServer } from "./http/server.js";
import { Metrics } from "./metrics/metrics.js";
import { TileService } from "./tile/tile.service.js";
import { createTileSource } from "./tiles/sources/source-factory.js";
import { TileCache } from "./tiles/tile-cache.js";
import { TileStore } from "./tiles/tile-store.js";

/** Zoom used when a query gives none (the later terrain model refines this). */
export const DEFAULT_ZOOM = 17;

export interface App {
  readonly url: string;
  readonly db: Database;
  readonly tileCache: TileCache;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

export async function startApp(settings: Settings): Promise<App> {
  const metrics = new Metrics();
  const db = await openDatabase({
    databaseUrl: settings.databaseUrl,
    dataDir: settings.dataDir,
    poolSize: settings.databasePoolSize,
  });
  const source = createTileSource(settings);
  const tileCache = new TileCache(
    new TileStore(db.prisma),
    source,
    {
      ttlSeconds: settings.tileTtlSeconds,
      negativeTtlSeconds: settings.tileNegativeTtlSeconds,
      maxPixels: settings.tileMaxPixels,
      memoryBytes: settings.memoryCacheBytes,
      leaseTtlMs: settings.leaseTtlMs,
      leasePollMs: settings.leasePollMs,
      concurrency: settings.upstreamConcurrency,
      timeoutMs: settings.upstreamTimeoutMs,
      retries: settings.upstreamRetries,
      retryBaseMs: settings.upstreamRetryBaseMs,
      maxBytes: settings.tileMaxBytes,
    },
    metrics,
  );
  const apollo = new ApolloServer<GraphQLContext>({
    schema: await buildGroundviewSchema(),
    csrfPrevention: true,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    formatError: formatError(settings.production),
  });
  await apollo.start();
  const tiles = new TileService(tileCache, DEFAULT_ZOOM);
  const server = createHttpServer({
    apollo,
    context: { tiles },
    tileCache,
    metrics,
    ready: () => db.ping(),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = settings.host === "0.0.0.0" || settings.host === "::" ? "127.0.0.1" : settings.host;
  const url = settings.publicUrl ?? `http://${host}:${port}`;
  tiles.baseUrl = url;
  return {
    url,
    db,
    tileCache,
    metrics,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await apollo.stop();
      await source.close?.();
      await db.close();
    },
  };
}
