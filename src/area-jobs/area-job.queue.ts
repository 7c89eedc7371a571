/**
 * The queue of area-job chunks: pg-boss 10 (Node 20) on the service's own database, the server
 * PostgreSQL or the embedded PGlite alike (pg-boss takes a `db` with `executeSql`; its tables
 * live in the schema "pgboss", which it creates and migrates itself under an advisory lock).
 *
 * Every service process with the models works the queue, one chunk at a time. A chunk whose
 * process dies is failed by pg-boss's supervision after AREA_JOB_CHUNK_TIMEOUT_SECONDS and
 * retried elsewhere; a chunk that fails every retry lands on the dead-letter queue, whose
 * worker records it as failed so the job still finishes. Chunk tasks have ids derived from
 * (job, chunk): sending one twice is a no-op.
 */
import { createHash } from "node:crypto";
import PgBoss from "pg-boss";

export const CHUNK_QUEUE = "area-job-chunk";
export const DEAD_QUEUE = "area-job-chunk-failed";
/** Retries of a failed (or abandoned) chunk before it is given up. */
export const CHUNK_RETRIES = 4;

export interface ChunkMessage {
  jobId: string;
  chunk: number;
}

export interface QueueOptions {
  executeSql: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }>;
  chunkTimeoutSeconds: number;
  /** 0: send only, never work (a process without the models, or one told not to). */
  pollSeconds: number;
  /** Chunks this process works at once. */
  workers: number;
  log: (line: string) => void;
}

/** A UUID from the job id and chunk number (sha-1, v5 layout): the task's identity on the queue. */
export function chunkTaskId(jobId: string, chunk: number): string {
  const h = createHash("sha1").update(`${jobId}:${chunk}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const s = h.subarray(0, 16).toString("hex");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

export class AreaJobQueue {
  private readonly boss: PgBoss;
  private started: Promise<void> | undefined;

  constructor(private readonly opts: QueueOptions) {
    this.boss = new PgBoss({
      db: { executeSql: (text: string, values: unknown[]) => opts.executeSql(text, values) },
      schedule: false,
      // Supervision fails chunks whose process died once they are older than their timeout.
      supervise: true,
      maintenanceIntervalSeconds: Math.max(1, Math.min(60, Math.floor(opts.chunkTimeoutSeconds / 2))),
    });
    this.boss.on("error", (err: Error) => opts.log(`area jobs: queue error: ${err.message}`));
  }

  /** Creates (or migrates) pg-boss's schema and the two queues; idempotent. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.boss.start();
      await this.boss.createQueue(DEAD_QUEUE, { name: DEAD_QUEUE, retryLimit: 2 });
      const chunks = {
        name: CHUNK_QUEUE,
        retryLimit: CHUNK_RETRIES,
        retryDelay: 1,
        retryBackoff: true,
        expireInSeconds: this.opts.chunkTimeoutSeconds,
        deadLetter: DEAD_QUEUE,
      };
      await this.boss.createQueue(CHUNK_QUEUE, chunks);
      // createQueue leaves an existing queue as it was: a changed timeout must be applied.
      await this.boss.updateQueue(CHUNK_QUEUE, chunks);
    })().catch((err: unknown) => {
      this.started = undefined; // the next call tries again (the database may be back)
      throw err;
    });
    return this.started;
  }

  /** Puts chunks 0..count-1 of a job on the queue (again: no duplicates). */
  async enqueue(jobId: string, count: number): Promise<void> {
    await this.start();
    for (let i = 0; i < count; i += 1000) {
      const jobs = [];
      for (let c = i; c < Math.min(count, i + 1000); c++) {
        jobs.push({ id: chunkTaskId(jobId, c), name: CHUNK_QUEUE, data: { jobId, chunk: c } satisfies ChunkMessage });
      }
      await this.boss.insert(jobs);
    }
  }

  /**
   * Works `workers` chunks at a time (each worker one): `run` does one; `giveUp` records one
   * that failed every retry (from the dead-letter queue). A run that throws is retried, with
   * back-off.
   */
  async work(run: (m: ChunkMessage) => Promise<void>, giveUp: (m: ChunkMessage, error: string) => Promise<void>): Promise<void> {
    if (this.opts.pollSeconds <= 0 || this.opts.workers <= 0) return;
    await this.start();
    const pollingIntervalSeconds = Math.max(0.5, this.opts.pollSeconds);
    for (let i = 0; i < this.opts.workers; i++) {
      let worker: string | undefined;
      worker = await this.boss.work<ChunkMessage>(CHUNK_QUEUE, { batchSize: 1, pollingIntervalSeconds }, async ([job]) => {
        try {
          await run(job.data);
        } catch (err) {
          this.opts.log(`area jobs: chunk ${job.data.chunk} of ${job.data.jobId} failed (it is retried): ${(err as Error).message}`);
          throw err;
        } finally {
          // There may be more: ask again at once instead of after the polling interval.
          if (worker) this.boss.notifyWorker(worker);
        }
      });
    }
    await this.boss.work<ChunkMessage>(DEAD_QUEUE, { batchSize: 1, pollingIntervalSeconds }, async ([job]) => {
      await giveUp(job.data, "the chunk failed on every retry (see the service log)");
    });
  }

  /** Stops taking chunks and waits up to `timeoutMs` for the one under way. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => undefined);
    await this.boss.stop({ graceful: true, wait: true, timeout: timeoutMs, close: false });
  }
}
