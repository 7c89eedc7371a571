/**
 * The house's layout (issue 15): no two folders of src/ import each other, and no feature (a
 * folder with a GraphQL resolver) imports another feature; what features share lives in folders
 * without resolvers (terrain/, geo/, landscape/, analysis/, terrain-map/, tiles/, util/ ...).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) return n === "generated" ? [] : files(p);
    return n.endsWith(".ts") ? [p] : [];
  });
}

/** folder -> the folders its files import from (relative imports; "." is src/ itself). */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const folderOf = (p: string) =>
    path
      .relative(SRC, p)
      .split(path.sep)[0]
      .replace(/\.ts$|\.js$/, "") || ".";
  for (const f of files(SRC)) {
    const from = path.relative(SRC, f).includes(path.sep) ? folderOf(f) : ".";
    for (const m of readFileSync(f, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
      const target = path.resolve(path.dirname(f), m[1]);
      const to = path.relative(SRC, target).includes(path.sep) ? folderOf(target) : ".";
      if (to !== from) (graph.get(from) ?? graph.set(from, new Set()).get(from)!).add(to);
    }
  }
  return graph;
}

test("no two folders of src/ import each other", () => {
  const graph = importGraph();
  assert.ok(graph.get("graphql")?.has("landscape-query"), "the graph is read (graphql/schema.ts lists the resolvers)");
  const mutual: string[] = [];
  for (const [a, tos] of graph) for (const b of tos) if (a < b && graph.get(b)?.has(a)) mutual.push(`${a} <-> ${b}`);
  assert.deepEqual(mutual, []);
});

test("no feature imports another feature", () => {
  const graph = importGraph();
  const features = new Set(
    readdirSync(SRC).filter(
      (d) => statSync(path.join(SRC, d)).isDirectory() && readdirSync(path.join(SRC, d)).some((f) => f.endsWith(".resolver.ts")),
    ),
  );
  assert.ok(features.has("terrain-change") && features.has("landscape-query") && !features.has("landscape"), [...features].join(", "));
  const crossing: string[] = [];
  for (const [a, tos] of graph) for (const b of tos) if (features.has(a) && features.has(b)) crossing.push(`${a} -> ${b}`);
  assert.deepEqual(crossing, []);
});
