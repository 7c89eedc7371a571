import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import "reflect-metadata";
import { renderSchema, SCHEMA_FILE } from "../src/schema/emit-schema.js";

test("schema/schema.graphql matches the resolvers (run `npm run schema` after changing them)", async () => {
  assert.equal(await readFile(SCHEMA_FILE, "utf8"), await renderSchema());
});
