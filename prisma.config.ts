import { defineConfig } from "prisma/config";

// Used by the Prisma CLI only (generate, migrate diff, and migrate deploy where its engine
// is available). The service reads DATABASE_URL itself and applies prisma/migrations at start.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres" },
});
