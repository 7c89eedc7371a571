/**
 * Operator command for API keys (stored in the configured database):
 *   npm run api-key -- create --name NAME [--per-minute N]   prints the key once
 *   npm run api-key -- list
 *   npm run api-key -- revoke ID|PREFIX
 * On the embedded database the service must be stopped first (one process per store).
 */
import "reflect-metadata";
import { parseArgs } from "node:util";
import { loadSettings } from "../config/settings.js";
import { openDatabase } from "../db/database.js";
import { DataDirLockedError } from "../db/data-dir-lock.js";
import { ApiKeyStore } from "./api-keys.js";

const USAGE = "usage: npm run api-key -- create --name NAME [--per-minute N] | list | revoke ID|PREFIX";
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { name: { type: "string" }, "per-minute": { type: "string" } },
});
const [command, arg] = positionals;
if (!["create", "list", "revoke"].includes(command) || (command === "create" && !values.name) || (command === "revoke" && !arg)) {
  console.error(USAGE);
  process.exit(2);
}
const settings = loadSettings();
const perMinute = Number(values["per-minute"] ?? settings.rateLimitKeyPerMinute);
if (!Number.isInteger(perMinute) || perMinute <= 0) {
  console.error("api-key: --per-minute must be a positive integer (cost units per minute)");
  process.exit(2);
}
const db = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir, poolSize: 1 }).catch((err) => {
  if (err instanceof DataDirLockedError) {
    console.error(`api-key: ${err.message}`);
    process.exit(1);
  }
  throw err;
});
let code = 0;
try {
  const keys = new ApiKeyStore(db.prisma);
  if (command === "create") {
    const { key, info } = await keys.create(values.name!, perMinute);
    console.log(`created key ${info.id} '${info.name}' (${info.costPerMinute} cost units a minute):`);
    console.log(key);
    console.log("keep it now: only its hash is stored. Clients send it as the x-api-key header.");
  } else if (command === "list") {
    const all = await keys.list();
    if (!all.length) console.log("no API keys");
    for (const k of all) {
      const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active";
      console.log(`${k.id}\t${k.keyPrefix}…\t${k.name}\t${k.costPerMinute}/min\tcreated ${k.createdAt.toISOString()}\t${state}`);
    }
  } else {
    const k = await keys.revoke(arg);
    if (k) console.log(`revoked key ${k.id} '${k.name}' (${k.keyPrefix}…)`);
    else {
      console.error(`api-key: no active key with id or prefix '${arg}'`);
      code = 1;
    }
  }
} catch (err) {
  console.error(`api-key: ${(err as Error).message}`);
  code = 1;
} finally {
  await db.close();
}
process.exit(code);
