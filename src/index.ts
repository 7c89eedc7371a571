/** Groundview's entry point: settings -> app; stops cleanly on SIGINT/SIGTERM. */
import { startApp } from "./app.js";
import { loadSettings } from "./config/settings.js";

const settings = loadSettings();
const app = await startApp(settings);
const mode = app.db.kind === "embedded" ? `embedded database in ${settings.dataDir}` : "PostgreSQL server";
console.log(`groundview listening on ${app.url} (GraphQL at ${app.url}/graphql, ${mode}, tiles from ${app.tileCache.source.id})`);
if (app.db.migrations.applied.length) console.log(`applied migrations: ${app.db.migrations.applied.join(", ")}`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    app.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
