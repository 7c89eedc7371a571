/** The analysis write-behind: coalescing, holds of many-batch calls, flush. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AnalysisWriter } from "../src/analysis/analysis-writer.js";
import type { AnalysisStore } from "../src/analysis/analysis.store.js";
import type { TileAnalysis } from "../src/analysis/analysis.types.js";
import { Metrics } from "../src/metrics/metrics.js";
import { sleep } from "./helpers/tile-server.js";

/** A store that records the rows of each insert. */
function recordingStore() {
  const inserts: number[][] = [];
  const store = {
    insertMany: async (rows: TileAnalysis[]) => {
      inserts.push(rows.map((r) => r.key.x));
    },
  } as unknown as AnalysisStore;
  return { store, inserts };
}

const row = (x: number) => ({ key: { z: 17, x, y: 0 } }) as unknown as TileAnalysis;

describe("analysis writer", () => {
  test("rows computed together go out in one statement a few milliseconds later", async () => {
    const { store, inserts } = recordingStore();
    const w = new AnalysisWriter(store, () => [], new Metrics(false));
    w.persist([row(1), row(2)]);
    w.persist([row(3)]);
    assert.equal(inserts.length, 0, "behind the caller");
    await sleep(30);
    assert.deepEqual(inserts, [[1, 2, 3]]);
  });

  test("a hold keeps rows back until its release; nested holds until the last; flush writes at once", async () => {
    const { store, inserts } = recordingStore();
    const w = new AnalysisWriter(store, () => [], new Metrics(false));
    const a = w.hold();
    const b = w.hold();
    w.persist([row(1)]);
    await sleep(30);
    assert.equal(inserts.length, 0, "held");
    a();
    a(); // a release counts once
    w.persist([row(2)]);
    await sleep(30);
    assert.equal(inserts.length, 0, "still held by the other call");
    b();
    await sleep(30);
    assert.deepEqual(inserts, [[1, 2]]);
    const c = w.hold();
    w.persist([row(3)]);
    await w.flush();
    assert.deepEqual(inserts, [[1, 2], [3]], "flush does not wait for holds");
    c();
    await sleep(30);
    assert.equal(inserts.length, 2, "nothing left to write");
  });

  test("a hold writes anyway once 1000 rows are queued", async () => {
    const { store, inserts } = recordingStore();
    const w = new AnalysisWriter(store, () => [], new Metrics(false));
    const release = w.hold();
    w.persist(Array.from({ length: 999 }, (_, i) => row(i)));
    await sleep(30);
    assert.equal(inserts.length, 0);
    w.persist([row(999), row(1000)]);
    await sleep(30);
    assert.deepEqual(
      inserts.map((r) => r.length),
      [1000, 1],
    );
    release();
  });
});
