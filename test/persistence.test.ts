/** The embedded store keeps tiles across a restart, and two processes share one fetch. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pg from "pg";
import { createTestDatabase, SERVER_URL, skipReason, type TestDatabase } from "./helpers/databases.js";
import { makeTile } from "./helpers/fixtures.js";
import { serveBytes, startUpstream } from "./helpers/tile-server.js";
import { startTestApp } from "./helpers/app.js";
import { startServiceProcess } from "./helpers/service-process.js";

describe("embedded persistence", () => {
  test("a tile cached before a restart is served after it with the upstream gone", async () => {
    const db = await createTestDatabase("embedded");
    const png = await makeTile("png");
    const up = await startUpstream(serveBytes(png));
    try {
      const a = await startTestApp(db, { TILE_SOURCE: up.template });
      const before = await fetch(`${a.url}/tiles/satellite/8/10/10`);
      assert.equal(before.status, 200);
      const etag = before.headers.get("etag");
      await a.close();
      await up.close();
      const b = await startTestApp(db, {
        TILE_SOURCE: up.template,
        UPSTREAM_RETRIES: "0",
      });
      const after = await fetch(`${b.url}/tiles/satellite/8/10/10`);
      assert.equal(after.status, 200);
      assert.equal(after.headers.get("etag"), etag);
      assert.ok(Buffer.from(await after.arrayBuffer()).equals(png));
      assert.equal((await fetch(`${b.url}/tiles/satellite/8/10/11`)).status, 502, "uncached tiles need the upstream");
      await b.close();
    } finally {
      await up.close().catch(() => undefined);
      await db.drop();
    }
  });
});

describe("two service processes sharing one PostgreSQL", { skip: skipReason("server") }, () => {
  test("concurrent requests for one tile through both processes cause one upstream fetch", async () => {
    const db = await createTestDatabase("server");
    const png = await makeTile("png");
    const up = await startUpstream(serveBytes(png, "image/png", { delayMs: 300 }));
    const env = {
      DATABASE_URL: db.databaseUrl as string,
      TILE_SOURCE: up.template,
      PORT: "0",
      HOST: "127.0.0.1",
      GROUNDVIEW_DATA_DIR: db.dataDir,
    };
    const procs = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
    try {
      const urls = procs.flatMap((p) => Array.from({ length: 10 }, () => `${p.url}/tiles/satellite/11/100/200`));
      const res = await Promise.all(urls.map((u) => fetch(u)));
      const bodies = await Promise.all(res.map(async (r) => Buffer.from(await r.arrayBuffer())));
      const failed = res.flatMap((r, i) => (r.status === 200 ? [] : [`${r.status} ${bodies[i].toString()}`]));
      assert.deepEqual(failed, [], "every request is answered with the tile");
      assert.ok(bodies.every((b) => b.equals(png)));
      assert.equal(up.hits("/11/100/200.img"), 1);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
      await up.close();
      await db.drop();
    }
  });
});

describe("server connections ended by the server", { skip: skipReason("server") }, () => {
  test("while serving they are dropped from the pool, not fatal; the next requests are answered", async () => {
    const db = await createTestDatabase("server");
    const up = await startUpstream(serveBytes(await makeTile("png")));
    const app = await startTestApp(db, { TILE_SOURCE: up.template });
    try {
      assert.equal((await fetch(`${app.url}/tiles/satellite/8/10/10`)).status, 200);
      // What a server restart or an administrator does to the pool's idle connections.
      assert.ok((await endConnections(db)) >= 1, "the pool had connections to end");
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${app.url}/tiles/satellite/8/10/${11 + i}`)).status, 200);
      assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
    } finally {
      await app.close();
      await up.close();
      await db.drop();
    }
  });
});

/** pg_terminate_backend on every connection to the test database; how many there were. */
async function endConnections(db: TestDatabase): Promise<number> {
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  try {
    const name = new URL(db.databaseUrl as string).pathname.slice(1);
    const { rows } = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [name],
    );
    return rows.length;
  } finally {
    await admin.end();
  }
}
