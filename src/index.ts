/** Groundview's entry point: settings -> app; stops cleanly on SIGINT/SIGTERM. */
import { startApp } from "./app.js";
import { loadSettings } from "./config/settings.js";
import { DataDirLockedError } from "./db/data-dir-lock.js";

const settings = loadSettings();
let app: Awaited<ReturnType<typeof startApp>>;
try {
  app = await startApp(settings);
} catch (err) {
  // Start-up failures a person can act on get one line, not a stack trace.
  if (err instanceof DataDirLockedError) {
    console.error(`groundview: ${err.message}`);
    process.exit(1);
  }
  if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
    console.error(`groundview: port ${settings.port} on ${settings.host} is in use: stop what holds it or set PORT to another port`);
    process.exit(1);
  }
  throw err;
}
const mode = app.db.kind === "embedded" ? `embedded database in ${settings.dataDir}` : "PostgreSQL server";
console.log(`groundview listening on ${app.url} (GraphQL at ${app.url}/graphql, ${mode}, tiles from ${app.tileCache.source.id})`);
if (app.sampleArea) {
  const a = app.sampleArea;
  console.log(`sample area ${a.name} (${a.attribution}): ${a.tiles} tiles at zoom ${a.minZoom}-${a.maxZoom}, ${a.written} written now`);
}
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
