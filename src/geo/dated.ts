/**
 * Answers that depend on which imagery answers (issue 14): a value with the date of the imagery
 * it belongs to, and the lookup a resolver is given to find the services of the imagery that
 * answers over a box (the date asked for, else the latest covering it, else the undated source;
 * INVALID_DATE, IMAGERY_DATE_NOT_FOUND and MODEL_UNAVAILABLE are its errors).
 */

/** [west, south, east, north], EPSG:4326. */
export type Box = [number, number, number, number];

export interface Dated<T> {
  /** YYYY-MM-DD; absent for the undated source. */
  date?: string;
  value: T;
}

export type DatedLookup<T> = (date: string | null | undefined, box: Box, z?: number, field?: string) => Promise<Dated<T>>;
