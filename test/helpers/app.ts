import { startApp, type App } from "../../src/app.js";
import { loadSettings } from "../../src/config/settings.js";
import type { TestDatabase } from "./databases.js";

/** Starts the real service on an ephemeral loopback port against a test database. */
export async function startTestApp(db: TestDatabase, env: Record<string, string> = {}): Promise<App> {
  const settings = loadSettings({
    PORT: "0",
    HOST: "127.0.0.1",
    GROUNDVIEW_DATA_DIR: db.dataDir,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    UPSTREAM_RETRY_BASE_MS: "5",
    SAMPLE_AREA: "off",
    // Suites that are not about limits run unthrottled; test/limits.test.ts sets them.
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: "0",
    QUERY_MAX_COST: "100000000",
    ...(process.env.MODELS_DIR ? { MODELS_DIR: process.env.MODELS_DIR } : {}),
    ...env,
  });
  return startApp(settings);
}

/** A GraphQL request to a service (in process or not); the status and the JSON body. */
export async function gql(app: { url: string }, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${app.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { data?: any; errors?: any[] },
  };
}
