/**
 * Holding up under abuse: oversized and aliased queries refused before any work (and quickly,
 * with /healthz still answering), the cost model (cache-aware, QUERY_TOO_COSTLY), per-client
 * rate limits with 429, Retry-After and the IETF RateLimit fields on GraphQL and tile routes,
 * API keys with their own quotas and revocation, and counters shared by two processes on one
 * PostgreSQL server.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import type { App } from "../src/app.js";
import { ApiKeyStore } from "../src/limits/api-keys.js";
import { RateLimits } from "../src/limits/rate-limits.js";
import { openDatabase } from "../src/db/database.js";
import pg from "pg";
import { COST } from "../src/limits/query-cost.js";
import { databaseCostProbe } from "../src/limits/limits.plugin.js";
import { tileBBox } from "../src/tiles/tile-math.js";
import { createTestDatabase, SERVER_URL } from "./helpers/databases.js";
import { makeTile } from "./helpers/fixtures.js";
import { type FakeUpstream, serveBytes, sleep, startUpstream } from "./helpers/tile-server.js";
import { gql, startTestApp } from "./helpers/app.js";
import { startServiceProcess } from "./helpers/service-process.js";

const Z = 17;
const X0 = 29428;
const Y0 = 46088;

async function post(app: { url: string }, query: string, headers: Record<string, string> = {}) {
  const t = performance.now();
  const r = await fetch(`${app.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query }),
  });
  const body = (await r.json()) as { data?: any; errors?: any[] };
  return { ms: performance.now() - t, status: r.status, headers: r.headers, body };
}

/** A box of n x n tiles of the test grid, as terrainFilter's bbox argument (inset so no neighbour is touched). */
function box(n: number, dx = 0): string {
  const [w, , , n0] = tileBBox({ z: Z, x: X0 + dx, y: Y0 });
  const [, s, e] = tileBBox({ z: Z, x: X0 + dx + n - 1, y: Y0 + n - 1 });
  const ex = (e - w) * 0.01;
  const ey = (n0 - s) * 0.01;
  return `{ west: ${w + ex}, south: ${s + ey}, east: ${e - ex}, north: ${n0 - ey} }`;
}

/** A service on a fresh embedded store over a fake upstream of one JPEG tile; `close` stops all three. */
async function startService(env: Record<string, string>) {
  const db = await createTestDatabase("embedded");
  const up = await startUpstream(serveBytes(await makeTile("jpeg"), "image/jpeg"));
  const app = await startTestApp(db, { TILE_SOURCE: up.template, TILE_MIN_ZOOM: "3", TILE_MAX_ZOOM: "18", ...env });
  return {
    up,
    app,
    close: async () => {
      await app.close();
      await up.close();
      await db.drop();
    },
  };
}

describe("limits", () => {
  let up: FakeUpstream;
  let app: App;
  let close: () => Promise<void>;

  before(async () => {
    ({ up, app, close } = await startService({ QUERY_MAX_COST: "1000", RATE_LIMIT_ANONYMOUS_PER_MINUTE: "1000000" }));
  });
  after(() => close?.());

  test("a 40,000-field query and a 300-alias query are refused in under 100 ms, and /healthz answers within 50 ms meanwhile", async () => {
    // The service in its own process, as deployed: building and sending the 1.2 MB bodies is
    // the test's own work and must not count in the service's /healthz times.
    const db = await createTestDatabase("embedded");
    const svc = await startServiceProcess({
      PORT: "0",
      HOST: "127.0.0.1",
      GROUNDVIEW_DATA_DIR: db.dataDir,
      DATABASE_URL: "",
      SAMPLE_AREA: "off",
      TILE_SOURCE: up.template,
      TILE_MIN_ZOOM: "3",
      TILE_MAX_ZOOM: "18",
      QUERY_MAX_COST: "1000",
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: "1000000",
    });
    try {
      await refusedWhileHealthy(svc);
    } finally {
      await svc.stop();
      await db.drop();
    }
  });

  async function refusedWhileHealthy(app: { url: string }) {
    const fields = "{" + " __typename".repeat(40_000) + "}";
    const aliases =
      "{" + Array.from({ length: 300 }, (_, i) => `a${i}: terrainFilter(bbox: ${box(2)}, terrain: [WATER]) { totalCount }`).join(" ") + "}";
    // Warm-up: the first requests compile Apollo's paths and the refusal paths of large bodies.
    await post(app, "{ __typename }");
    await post(app, fields);
    await post(app, aliases);
    const health: number[] = [];
    let sending = true;
    const probe = (async () => {
      while (sending) {
        const t = performance.now();
        assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
        health.push(performance.now() - t);
      }
    })();
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await post(app, fields), await post(app, aliases));
    sending = false;
    await probe;
    for (const r of results) {
      assert.equal(r.status, 400);
      assert.equal(r.body.errors?.[0].extensions.code, "GRAPHQL_PARSE_FAILED");
      assert.match(r.body.errors?.[0].message, /more that 2000 tokens/);
    }
    const slowest = Math.max(...results.map((r) => r.ms));
    assert.ok(slowest < 100, `refused in ${slowest.toFixed(1)} ms`);
    assert.ok(health.length > 0 && Math.max(...health) < 50, `/healthz took up to ${Math.max(...health).toFixed(1)} ms`);
    assert.equal(up.hits(), 0, "no tile was fetched");
  }

  test("aliases, depth and directives over their limits are refused by validation with the limit in the message", async () => {
    const aliased = await post(app, "{" + Array.from({ length: 20 }, (_, i) => `t${i}: tile(lat: 47, lon: -99) { z }`).join(" ") + "}");
    assert.equal(aliased.status, 400);
    assert.match(aliased.body.errors?.[0].message, /Aliases limit of 15 exceeded, found 20/);
    const ok = await post(app, "{" + Array.from({ length: 15 }, (_, i) => `t${i}: tile(lat: 47, lon: -99) { z }`).join(" ") + "}");
    assert.equal(ok.status, 200, JSON.stringify(ok.body.errors));
    const deep = await post(
      app,
      "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }",
    );
    assert.equal(deep.status, 200, "introspection is not depth-limited");
    const directives = await post(app, `{ tile(lat: 47, lon: -99) { z ${"@include(if: true) ".repeat(25)} } }`);
    assert.equal(directives.status, 400);
    assert.match(directives.body.errors?.[0].message, /Directives limit of 20 exceeded/);
    const suggestion = await post(app, "{ tile(lat: 47, lon: -99) { zz } }");
    assert.doesNotMatch(suggestion.body.errors?.[0].message ?? "", /Did you mean/, "field suggestions are not leaked");
  });

  test("a costly box is refused before any work with its cost and the limit; once analysed, the same box is cheap", async () => {
    // 8 x 8 tiles: cold (imagery fetched, then analysed in batches) 64 x (12 + 45) > 1000.
    const q = `{ terrainFilter(bbox: ${box(8)}, terrain: [WATER], zoom: ${Z}) { tilesAnalysed } }`;
    const refused = await post(app, q);
    assert.equal(refused.status, 400);
    const e = refused.body.errors?.[0];
    assert.equal(e.extensions.code, "QUERY_TOO_COSTLY");
    assert.equal(e.extensions.limit, 1000);
    assert.equal(e.extensions.cost, Math.ceil(COST.operation + 64 * (COST.analyseInBatch + COST.fetch)));
    assert.deepEqual(e.extensions.fields[0], {
      field: "terrainFilter",
      cost: Math.ceil(64 * (COST.analyseInBatch + COST.fetch)),
      tiles: 64,
    });
    assert.match(e.message, /would cost \d+ units .* the limit is 1000 per request/);
    assert.equal(up.hits(), 0, "refused before any tile was fetched");
    // Analyse it in four affordable quarters; then the whole box costs only stored reads.
    for (const [dx, dy] of [
      [0, 0],
      [4, 0],
      [0, 4],
      [4, 4],
    ]) {
      const [w, , , n] = tileBBox({ z: Z, x: X0 + dx, y: Y0 + dy });
      const [, s, ea] = tileBBox({ z: Z, x: X0 + dx + 3, y: Y0 + dy + 3 });
      const r = await gql(
        app,
        `{ terrainFilter(bbox: { west: ${w + 1e-7}, south: ${s + 1e-7}, east: ${ea - 1e-7}, north: ${n - 1e-7} }, terrain: [WATER], zoom: ${Z}) { tilesAnalysed } }`,
      );
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      assert.equal(r.body.data.terrainFilter.tilesAnalysed, 16);
    }
    await app.models!.analysis.flush();
    const cheap = await post(app, q);
    assert.equal(cheap.status, 200, JSON.stringify(cheap.body.errors));
    assert.equal(cheap.body.data.terrainFilter.tilesAnalysed, 64);
  });

  test("a box over TERRAIN_FILTER_MAX_TILES still gets BBOX_TOO_LARGE, not a cost error", async () => {
    const r = await post(
      app,
      `{ terrainFilter(bbox: { west: -100, south: 40, east: -90, north: 50 }, terrain: [WATER], zoom: ${Z}) { tilesAnalysed } }`,
    );
    assert.equal(r.body.errors?.[0].extensions.code, "BBOX_TOO_LARGE");
  });
});

describe("one client's costly operations run one at a time", () => {
  test("three costly boxes of one client are analysed one after another; another client's box is not held up", async () => {
    const { up, app, close } = await startService({
      QUERY_MAX_COST: "100000",
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: "1000000",
      TRUST_PROXY: "1",
    });
    try {
      const tile = await makeTile("jpeg");
      // Which box each upstream fetch belongs to (x decides it), and which boxes are being fetched at once.
      const active = new Map<number, number>();
      let overlaps = 0;
      up.setBehaviour(async (req, res) => {
        const x = Number((req.url ?? "").split("/")[2]);
        const b = Math.floor((x - X0) / 10);
        active.set(b, (active.get(b) ?? 0) + 1);
        if ([...active.entries()].some(([k, n]) => k !== b && k < 3 && b < 3 && n > 0)) overlaps++;
        await sleep(30);
        active.set(b, active.get(b)! - 1);
        res.writeHead(200, { "content-type": "image/jpeg" });
        res.end(tile);
      });
      const boxQuery = (dx: number) => `{ terrainFilter(bbox: ${box(3, dx)}, terrain: [WATER], zoom: ${Z}) { tilesAnalysed } }`;
      const one = { "x-forwarded-for": "10.0.0.1" };
      const [a, b, c] = await Promise.all([0, 10, 20].map((dx) => post(app, boxQuery(dx), one)));
      for (const r of [a, b, c]) assert.equal(r.body.data?.terrainFilter.tilesAnalysed, 9, JSON.stringify(r.body.errors));
      assert.equal(overlaps, 0, "no two of the client's boxes were fetched at the same time");
      // The gate is per client: another client's box runs beside the first client's queue, and is
      // answered before the second box of that queue.
      const done: string[] = [];
      const queued = [40, 50].map((dx) => post(app, boxQuery(dx), one).then(() => done.push(`first client ${dx}`)));
      await sleep(5);
      const other = await post(app, boxQuery(30), { "x-forwarded-for": "10.0.0.2" });
      done.push("other client");
      assert.equal(other.body.data?.terrainFilter.tilesAnalysed, 9);
      await Promise.all(queued);
      assert.notEqual(done.at(-1), "other client", done.join(", "));
    } finally {
      await close();
    }
  });
});

describe("rate limits and API keys", () => {
  let app: App;
  let close: () => Promise<void>;

  before(async () => {
    ({ app, close } = await startService({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: "30" }));
  });
  after(() => close?.());

  test("an anonymous client over its minute gets 429 with Retry-After and RateLimit fields, on tiles and on GraphQL alike", async () => {
    const first = await fetch(`${app.url}/tiles/satellite/12/654/1583`);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("ratelimit-policy"), '"cost";q=30;w=60');
    assert.match(first.headers.get("ratelimit") ?? "", /^"cost";r=29;t=\d+$/);
    for (let i = 1; i < 30; i++) assert.equal((await fetch(`${app.url}/tiles/satellite/12/654/1583`)).status, 200);
    const tile = await fetch(`${app.url}/tiles/satellite/12/654/1583`);
    assert.equal(tile.status, 429);
    const retry = Number(tile.headers.get("retry-after"));
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert.match(tile.headers.get("ratelimit") ?? "", /^"cost";r=0;t=\d+$/);
    const body = (await tile.json()) as any;
    assert.equal(body.error.code, "RATE_LIMITED");
    const g = await post(app, "{ tile(lat: 47, lon: -99) { z } }");
    assert.equal(g.status, 429);
    assert.equal(g.body.errors?.[0].extensions.code, "RATE_LIMITED");
    assert.match(g.body.errors?.[0].message, /the 30 units of this minute are used up/, "refused before the request was read");
    // Not even parsed: a malformed document from an exhausted client is still RATE_LIMITED.
    assert.equal((await post(app, "{ this is not graphql")).body.errors?.[0].extensions.code, "RATE_LIMITED");
    assert.ok(Number(g.headers.get("retry-after")) >= 1);
    assert.equal(g.body.data, undefined, "nothing was executed");
  });

  test("a body refused for the rate limit is refused again, uncosted, until the window ends; another body is costed", async () => {
    const { key } = await app.apiKeys.create("repeat", 600);
    // 4 x 4 cold tiles cost more than the key's 600 units but less than QUERY_MAX_COST.
    const q = `{ terrainFilter(bbox: ${box(4, 20)}, terrain: [WATER], zoom: ${Z}) { tilesAnalysed } }`;
    const first = await post(app, q, { "x-api-key": key });
    assert.equal(first.status, 429, JSON.stringify(first.body));
    const cost = first.body.errors?.[0].extensions.cost;
    assert.ok(cost > 600 && cost <= 1000, `cost ${cost}`);
    // Another client analyses the box: costed now, the same request would be cheap.
    const other = await app.apiKeys.create("other", 100_000);
    assert.equal((await post(app, q, { "x-api-key": other.key })).status, 200);
    await app.models!.analysis.flush();
    const again = await post(app, q, { "x-api-key": key });
    assert.equal(again.status, 429);
    assert.equal(again.body.errors?.[0].extensions.code, "RATE_LIMITED");
    assert.equal(again.body.errors?.[0].extensions.cost, cost, "the first refusal's cost: not parsed or costed again");
    assert.ok(Number(again.headers.get("retry-after")) >= 1);
    // Any other body is parsed and costed as usual: the analysed box now fits the key's minute.
    const changed = await post(app, q.replace("{ tilesAnalysed }", "{ tilesAnalysed tilesComputed }"), { "x-api-key": key });
    assert.equal(changed.status, 200, JSON.stringify(changed.body.errors));
    assert.equal(changed.body.data.terrainFilter.tilesComputed, 0);
  });

  test("a key with a higher quota is not limited at the anonymous rate; a revoked key is refused", async () => {
    const keys = app.apiKeys;
    const { key, info } = await keys.create("partner", 500);
    const row = await app.db.prisma.apiKey.findUnique({ where: { id: info.id } });
    assert.ok(row && row.keyHash !== key && !row.keyHash.includes(key.slice(3)), "only a hash is stored");
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${app.url}/tiles/satellite/12/654/1583`, { headers: { "x-api-key": key } });
      assert.equal(r.status, 200, `keyed request ${i}`);
      if (i === 59) assert.match(r.headers.get("ratelimit") ?? "", /^"cost";r=440;/);
    }
    const bearer = await post(app, "{ tile(lat: 47, lon: -99) { z } }", { authorization: `Bearer ${key}` });
    assert.equal(bearer.status, 200);
    assert.equal(bearer.headers.get("ratelimit-policy"), '"cost";q=500;w=60');
    // Anonymous is still over its own minute: the key's quota is its own.
    assert.equal((await fetch(`${app.url}/tiles/satellite/12/654/1583`)).status, 429);
    await keys.revoke(String(info.id));
    const revoked = await fetch(`${app.url}/tiles/satellite/12/654/1583`, { headers: { "x-api-key": key } });
    assert.equal(revoked.status, 401);
    assert.equal(((await revoked.json()) as any).error.code, "INVALID_API_KEY");
    // Another process (the CLI) revoking it is seen within the key cache's lifetime; a fresh store sees it at once.
    assert.equal(await new ApiKeyStore(app.db.prisma).verify(key), null);
    const unknown = await post(app, "{ tile(lat: 47, lon: -99) { z } }", { "x-api-key": "gv_not-a-key" });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.errors?.[0].extensions.code, "INVALID_API_KEY");
  });
});

describe("api-key CLI", () => {
  test("create prints a key once, list shows its prefix and quota, revoke marks it revoked", async () => {
    const db = await createTestDatabase("embedded");
    const run = promisify(execFile);
    const env = { ...process.env, GROUNDVIEW_DATA_DIR: db.dataDir, DATABASE_URL: "" };
    const cli = new URL("../src/limits/api-key.cli.js", import.meta.url).pathname;
    try {
      const created = await run(process.execPath, [cli, "create", "--name", "maps team", "--per-minute", "1234"], { env });
      const key = created.stdout.split("\n").find((l) => l.startsWith("gv_"));
      assert.ok(key && key.length > 40, created.stdout);
      const listed = (await run(process.execPath, [cli, "list"], { env })).stdout;
      assert.match(listed, new RegExp(`^1\\t${key.slice(0, 10)}…\\tmaps team\\t1234/min\\t.*\\tactive$`, "m"));
      assert.ok(!listed.includes(key), "list never shows the key");
      assert.match((await run(process.execPath, [cli, "revoke", key.slice(0, 10)], { env })).stdout, /revoked key 1 'maps team'/);
      assert.match((await run(process.execPath, [cli, "list"], { env })).stdout, /\trevoked \d{4}-/);
      await assert.rejects(run(process.execPath, [cli, "revoke", "99"], { env }), /no active key with id or prefix '99'/);
    } finally {
      await db.drop();
    }
  });
});

describe(
  "rate limits across processes (PostgreSQL server)",
  { skip: SERVER_URL ? false : "TEST_DATABASE_URL is not set (CI sets it): server mode skipped" },
  () => {
    test("the first charges of many processes at once all count (the counter table comes from a migration)", async () => {
      const t = await createTestDatabase("server");
      const db = await openDatabase({ databaseUrl: t.databaseUrl, dataDir: t.dataDir, poolSize: 2 });
      // Each pool plays one process: its own connections, its own limiter, all charging at once.
      const pools = Array.from({ length: 6 }, () => new pg.Pool({ connectionString: t.databaseUrl, max: 2 }));
      // Like the service's own pool (src/db/database.ts): an idle connection the server ends is dropped.
      for (const p of pools) p.on("error", () => {});
      try {
        const [{ n }] = await db.prisma.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'rate_limit_counter'`;
        assert.equal(n, 1, "made by the migrations, not by the first request");
        const keys = new ApiKeyStore(db.prisma);
        const limits = pools.map((pool) => new RateLimits({ anonymousPerMinute: 100, trustProxy: false, pool }, keys));
        const client = { id: "ip:192.0.2.7", kind: "anonymous" as const, perMinute: 100 };
        const charges = await Promise.all(limits.flatMap((l) => [l.charge(client, 5), l.charge(client, 5)]));
        assert.ok(charges.every((c) => c.allowed));
        assert.equal(Math.min(...charges.map((c) => c.remaining)), 100 - 12 * 5, "every process counted in one minute");
      } finally {
        await Promise.all(pools.map((p) => p.end()));
        await db.close();
        await t.drop();
      }
    });

    test("two service processes on one database share a client's minute", async () => {
      const db = await createTestDatabase("server");
      const up = await startUpstream(serveBytes(await makeTile("jpeg"), "image/jpeg"));
      const env = { TILE_SOURCE: up.template, TILE_MIN_ZOOM: "3", TILE_MAX_ZOOM: "18", RATE_LIMIT_ANONYMOUS_PER_MINUTE: "20" };
      const a = await startTestApp(db, env);
      const b = await startTestApp(db, env);
      try {
        const ok = async (url: string) => {
          const r = await fetch(url);
          assert.equal(r.status, 200, await r.text());
        };
        for (let i = 0; i < 10; i++) await ok(`${a.url}/tiles/satellite/12/654/1583`);
        for (let i = 0; i < 10; i++) await ok(`${b.url}/tiles/satellite/12/654/1583`);
        assert.equal((await fetch(`${a.url}/tiles/satellite/12/654/1583`)).status, 429, "the 21st request, on either process, is refused");
        assert.equal((await fetch(`${b.url}/tiles/satellite/12/654/1583`)).status, 429);
      } finally {
        await a.close();
        await b.close();
        await up.close();
        await db.drop();
      }
    });
  },
);

describe("KeyedGate", () => {
  test("per key at most `limit` holders, in order; other keys do not wait; a release counts once", async () => {
    const { KeyedGate } = await import("../src/util/keyed-gate.js");
    const gate = new KeyedGate(1);
    const order: string[] = [];
    const r1 = await gate.acquire("a");
    const second = gate.acquire("a").then((r) => (order.push("a2"), r));
    const third = gate.acquire("a").then((r) => (order.push("a3"), r));
    const b = await gate.acquire("b");
    order.push("b");
    assert.deepEqual(gate.load("a"), { active: 1, waiting: 2 });
    r1();
    r1();
    const r2 = await second;
    assert.deepEqual(gate.load("a"), { active: 1, waiting: 1 }, "a second release of the same holder changes nothing");
    r2();
    (await third)();
    b();
    assert.deepEqual(order, ["b", "a2", "a3"]);
    assert.deepEqual(gate.load("a"), { active: 0, waiting: 0 });
  });
});

describe("the cost probe", () => {
  test("a tile whose analysis is in memory is costed without a database query; others are counted in the database", async () => {
    const queried: string[] = [];
    const prisma = {
      $queryRaw: async (sql: TemplateStringsArray) => {
        queried.push(sql.join("?"));
        return [{ imagery: 0n, analysed: 0n }];
      },
    } as unknown as Parameters<typeof databaseCostProbe>[0];
    const hot = { z: 17, x: 10, y: 20 };
    const probe = databaseCostProbe(
      prisma,
      "src",
      "v1",
      () => 17,
      (k) => k.z === hot.z && k.x === hot.x && k.y === hot.y,
    );
    assert.deepEqual(await probe.stored(17, 10, 10, 20, 20), { imagery: 1, analysed: 1 });
    assert.equal(queried.length, 0, "no query for a tile in memory");
    assert.deepEqual(await probe.stored(17, 11, 11, 20, 20), { imagery: 0, analysed: 0 });
    assert.deepEqual(await probe.stored(17, 10, 11, 20, 20), { imagery: 0, analysed: 0 }, "a range is counted in the database");
    assert.deepEqual(await probe.stored(17, 10, 10, 20, 20, "2020-08-31"), { imagery: 0, analysed: 0 }, "a dated layer too");
    assert.equal(queried.length, 3);
  });
});
