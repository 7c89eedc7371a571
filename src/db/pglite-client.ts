/**
 * The embedded database seen from the main thread: the part of PGlite's interface that
 * Groundview and Prisma's PGlite adapter use (query, exec, transaction, close), with the
 * statements run on the database's own thread (pglite-thread.ts).
 *
 * Semantics kept from in-process PGlite: one session, statements in the order they were
 * issued, a transaction holds the session (other statements wait until it ends), errors from
 * Postgres are messages.DatabaseError with their fields (code, detail, constraint, ...), and a
 * query's own `parsers` apply (their type OIDs come back as Postgres's text and are parsed
 * here, where the functions are).
 */
import { Worker } from "node:worker_threads";
import { messages, type QueryOptions, type Results, type Transaction } from "@electric-sql/pglite";
import type { PGliteErrorData, PGliteRequest, PGliteResponse, PGliteThreadData } from "./pglite-protocol.js";

/** A request without its id (Omit over each member of the union). */
type Request = PGliteRequest extends infer R ? (R extends PGliteRequest ? Omit<R, "id"> : never) : never;
type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Parser = (value: string, typeId: number) => unknown;
/** What a transaction's callback gets: the PGlite Transaction surface that the adapter and our code use. */
type Tx = Pick<Transaction, "query" | "exec" | "rollback"> & { readonly closed: boolean };

function toError(e: PGliteErrorData): Error {
  const err = e.database ? new messages.DatabaseError(e.message, e.length ?? 0, (e.name ?? "error") as never) : new Error(e.message);
  return Object.assign(err, e.fields);
}

export class PGliteThreadClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The transaction holding the session, if any: other statements wait for it. */
  private activeTx: Promise<unknown> | undefined;
  private failure: Error | undefined;
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (m: PGliteResponse) => {
      if (!("id" in m)) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ("error" in m) p.reject(toError(m.error));
      else p.resolve(m.result);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on("error", (err) => {
      console.error(`database: the embedded database thread failed: ${err.message}`);
      fail(err);
    });
    worker.on("exit", (code) => {
      if (!this.closed) console.error(`database: the embedded database thread exited with code ${code}`);
      fail(new Error(`the embedded database thread has exited (code ${code})`));
    });
  }

  /** Starts the thread and resolves once PGlite has opened `dir`. */
  static async start(data: PGliteThreadData): Promise<PGliteThreadClient> {
    const worker = new Worker(new URL("./pglite-thread.js", import.meta.url), { workerData: data });
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the embedded database thread exited with code ${code} while opening`));
      worker.once("error", reject);
      worker.once("exit", onExit);
      worker.once("message", (m: PGliteResponse) => {
        worker.off("error", reject);
        worker.off("exit", onExit);
        if ("ready" in m && m.ready) resolve();
        else {
          void worker.terminate();
          reject(new Error("error" in m ? String(m.error) : "the embedded database thread did not start"));
        }
      });
    });
    return new PGliteThreadClient(worker);
  }

  private send<T>(req: Request): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  private async rawQuery<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    const parsers = options?.parsers as Record<number, Parser> | undefined;
    const rawOids = parsers ? Object.keys(parsers).map(Number) : undefined;
    const r = await this.send<Results<T>>({ op: "query", sql, params, rowMode: options?.rowMode, rawOids });
    if (parsers && r.fields.length) {
      const cols = r.fields.map((f, i) => [i, f.name, parsers[f.dataTypeID], f.dataTypeID] as const).filter(([, , p]) => p);
      if (cols.length)
        for (const row of r.rows as Record<string | number, unknown>[])
          for (const [i, name, parse, oid] of cols) {
            const key = options?.rowMode === "array" ? i : name;
            const v = row[key];
            if (v !== null && v !== undefined) row[key] = parse!(v as string, oid);
          }
    }
    return r;
  }

  /** Resolves once no transaction holds the session (callers then post at once, in the same tick). */
  private async turn(): Promise<void> {
    while (this.activeTx) await this.activeTx.catch(() => undefined);
  }

  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    if (this.activeTx) return this.turn().then(() => this.query<T>(sql, params, options));
    return this.rawQuery<T>(sql, params, options);
  }

  exec(sql: string): Promise<Results[]> {
    if (this.activeTx) return this.turn().then(() => this.exec(sql));
    return this.send<Results[]>({ op: "exec", sql });
  }

  /** BEGIN, the callback, then COMMIT (ROLLBACK when it throws or rolls back); other statements wait. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    while (this.activeTx) await this.activeTx.catch(() => undefined);
    // From here to setting activeTx nothing else runs: BEGIN is posted before any other statement.
    const run = this.runTransaction(fn);
    this.activeTx = run;
    try {
      return await run;
    } finally {
      if (this.activeTx === run) this.activeTx = undefined;
    }
  }

  private async runTransaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    await this.send({ op: "exec", sql: "BEGIN" });
    let ended = false;
    const end = (sql: "COMMIT" | "ROLLBACK") => {
      ended = true;
      return this.send({ op: "exec", sql });
    };
    const tx: Tx = {
      query: <R>(sql: string, params?: unknown[], options?: QueryOptions) => this.rawQuery<R>(sql, params, options),
      exec: (sql: string) => this.send<Results[]>({ op: "exec", sql }),
      rollback: async () => {
        if (!ended) await end("ROLLBACK");
      },
      get closed() {
        return ended;
      },
    };
    try {
      const result = await fn(tx);
      if (!ended) await end("COMMIT");
      return result;
    } catch (err) {
      if (!ended) await end("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }

  /** Closes PGlite (its files are flushed) and ends the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.turn();
    try {
      if (!this.failure) await this.send({ op: "close" });
    } finally {
      this.closed = true;
      await this.worker.terminate();
    }
  }
}
