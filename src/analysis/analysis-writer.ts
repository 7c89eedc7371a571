/**
 * Write-behind for computed analyses: the memory cache already serves them, so responses do not
 * wait for the database; rows computed within a few milliseconds of each other go out in one
 * statement, and a row that fails to be written is simply computed again later (logged and
 * counted).
 */
import type { Metrics } from "../metrics/metrics.js";
import type { AnalysisStore } from "./analysis.store.js";
import type { TileAnalysis } from "./analysis.types.js";

/** How long computed rows wait to be written together. */
const WRITE_COALESCE_MS = 5;
/** Rows held back at most while a call holds the writes. */
const HOLD_MAX_ROWS = 1000;

export class AnalysisWriter {
  private queued: TileAnalysis[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** Rows computed but not yet written. */
  private readonly pendingWrites = new Set<Promise<void>>();
  /** Calls computing many batches that asked the writes to wait for them (hold). */
  private holds = 0;

  constructor(
    private readonly store: AnalysisStore,
    private readonly classes: () => string[],
    private readonly metrics: Metrics,
  ) {}

  /** Resolves once every computed row has been written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.queued.length || this.pendingWrites.size) {
      if (this.queued.length) {
        clearTimeout(this.flushTimer);
        this.writeQueued();
      }
      await Promise.allSettled([...this.pendingWrites]);
    }
  }

  /**
   * Holds queued rows back until the returned release is called (by the last holder), so that a
   * call computing many batches does not share the CPU with its own writes; rows are still
   * written at HOLD_MAX_ROWS, and flush() writes at once.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && this.queued.length && !this.flushTimer) this.flushTimer = setTimeout(() => this.writeQueued(), 0);
    };
  }

  /** Queues rows; they go out together after WRITE_COALESCE_MS (or when the holds end). */
  persist(results: TileAnalysis[]): void {
    this.queued.push(...results);
    if (this.flushTimer || (this.holds && this.queued.length < HOLD_MAX_ROWS)) return;
    this.flushTimer = setTimeout(() => this.writeQueued(), WRITE_COALESCE_MS);
  }

  private writeQueued(): void {
    this.flushTimer = undefined;
    // At most 1000 rows (13 parameters each) per statement: far below Postgres's 65535.
    const rows = this.queued.splice(0, 1000);
    if (this.queued.length) this.flushTimer = setTimeout(() => this.writeQueued(), 0);
    if (!rows.length) return;
    const write = this.store.insertMany(rows, this.classes()).then(
      () => undefined,
      (err: unknown) => {
        this.metrics.analysisWriteErrors.inc(rows.length);
        console.error(`tile analysis write failed: ${(err as Error).message}`);
      },
    );
    this.pendingWrites.add(write);
    void write.finally(() => this.pendingWrites.delete(write));
  }
}
