/** Messages between the embedded database's client (pglite-client.ts) and its thread (pglite-thread.ts). */

export interface PGliteThreadData {
  /** PGlite's data directory. */
  dir: string;
}

export type PGliteRequest =
  | {
      id: number;
      op: "query";
      sql: string;
      params?: unknown[];
      rowMode?: "array" | "object";
      /** Type OIDs whose values come back as Postgres's text, for the caller's own parsers. */
      rawOids?: number[];
    }
  | { id: number; op: "exec"; sql: string }
  | { id: number; op: "close" };

/** A Postgres error as PGlite reports it (messages.DatabaseError), in a form that crosses threads. */
export interface PGliteErrorData {
  database: boolean;
  message: string;
  name?: string;
  length?: number;
  fields: Record<string, unknown>;
}

export type PGliteResponse =
  { id: number; result: unknown } | { id: number; error: PGliteErrorData } | { ready: true } | { ready: false; error: string };

/** The fields of messages.DatabaseError besides message, name and length. */
export const DATABASE_ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;
