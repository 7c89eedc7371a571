/** The embedded store keeps tiles across a restart, and two processes share one fetch. */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { createTestDatabase, skipReason } from "./helpers/databases.js";
import { makeTile } from "./helpers/fixtures.js";
import { serveBytes, startUpstream } from "./helpers/tile-server.js";
import { startTestApp } from "./helpers/app.js";

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

const ENTRY = fileURLToPath(new URL("../src/index.js", import.meta.url));

function startProcess(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^ ]+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (d) => (out += d.toString()));
    child.on("exit", (code) => reject(new Error(`service exited with ${code}: ${out}`)));
  });
}

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
    const procs = await Promise.all([startProcess(env), startProcess(env)]);
    try {
      const urls = procs.flatMap((p) => Array.from({ length: 10 }, () => `${p.url}/tiles/satellite/11/100/200`));
      const res = await Promise.all(urls.map((u) => fetch(u)));
      assert.deepEqual(new Set(res.map((r) => r.status)), new Set([200]));
      const bodies = await Promise.all(res.map(async (r) => Buffer.from(await r.arrayBuffer())));
      assert.ok(bodies.every((b) => b.equals(png)));
      assert.equal(up.hits("/11/100/200.img"), 1);
    } finally {
      for (const p of procs) p.child.kill("SIGTERM");
      await Promise.all(procs.map((p) => new Promise((r) => (p.child.exitCode !== null ? r(null) : p.child.once("exit", r)))));
      await up.close();
      await db.drop();
    }
  });
});
