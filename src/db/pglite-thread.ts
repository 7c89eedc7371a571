/**
 * The embedded database's thread: owns the PGlite instance (PostgreSQL compiled to WebAssembly,
 * with PostGIS and cube) and runs its statements off the event loop.
 *
 * PGlite executes a statement synchronously on the thread that calls it, so on the main thread
 * every write and every PostGIS merge stalled all other requests, cached ones included, for
 * its whole length. Here statements run one after another in arrival order, as PGlite does
 * in-process; the main thread (pglite-client.ts) only posts them and receives rows.
 */
import { parentPort, workerData } from "node:worker_threads";
import { messages, PGlite } from "@electric-sql/pglite";
import { cube } from "@electric-sql/pglite/contrib/cube";
import { postgis } from "@electric-sql/pglite-postgis";
import {
  DATABASE_ERROR_FIELDS,
  type PGliteErrorData,
  type PGliteRequest,
  type PGliteResponse,
  type PGliteThreadData,
} from "./pglite-protocol.js";

const { dir } = workerData as PGliteThreadData;
const port = parentPort!;
const post = (m: PGliteResponse) => port.postMessage(m);

const identity = (x: string) => x;

function errorData(err: unknown): PGliteErrorData {
  const e = err as Record<string, unknown> & Error;
  const fields: Record<string, unknown> = {};
  for (const f of DATABASE_ERROR_FIELDS) if (e?.[f] !== undefined) fields[f] = e[f];
  return {
    database: err instanceof messages.DatabaseError,
    message: e?.message ?? String(err),
    name: e?.name,
    length: typeof e?.length === "number" ? e.length : undefined,
    fields,
  };
}

let lite: PGlite;
try {
  lite = await PGlite.create(dir, { extensions: { postgis, cube } });
} catch (err) {
  post({ ready: false, error: (err as Error).message });
  process.exit(1);
}

async function run(m: PGliteRequest): Promise<unknown> {
  switch (m.op) {
    case "query": {
      const parsers = m.rawOids?.length ? Object.fromEntries(m.rawOids.map((oid) => [oid, identity])) : undefined;
      return lite.query(m.sql, m.params, { rowMode: m.rowMode, ...(parsers ? { parsers } : {}) });
    }
    case "exec":
      return lite.exec(m.sql);
    case "close":
      await lite.close();
      return null;
  }
}

port.on("message", (m: PGliteRequest) => {
  // Called at once for each message: PGlite queues the statements in arrival order.
  run(m).then(
    (result) => post({ id: m.id, result }),
    (err: unknown) => post({ id: m.id, error: errorData(err) }),
  );
});
post({ ready: true });
