-- The rate-limit counters shared by every service process on one PostgreSQL server
-- (rate-limiter-flexible's RateLimiterPostgres layout). The library used to create this table
-- itself on a process's first charged request; two processes doing that at once can fail with
-- 'type "rate_limit_counter" already exists' (CREATE TABLE IF NOT EXISTS is not safe against a
-- concurrent create), which answered that request 500. The migration creates it once, under
-- the migration lock; IF NOT EXISTS keeps databases where the library already made it.
-- Embedded stores count in memory (one process per store) and leave the table empty.

-- CreateTable
CREATE TABLE IF NOT EXISTS "rate_limit_counter" (
    "key" VARCHAR(255) NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "expire" BIGINT,

    CONSTRAINT "rate_limit_counter_pkey" PRIMARY KEY ("key")
);
