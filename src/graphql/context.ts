import type { RequestLimits } from "../limits/limits.plugin.js";

/**
 * What a GraphQL request carries besides its arguments. Resolvers get their services through
 * their constructors (src/app.ts builds them; graphql/schema.ts hands them to type-graphql).
 */
export interface GraphQLContext {
  /** This request's client, cost and rate-limit charge (per request; absent outside HTTP). */
  limits?: RequestLimits;
}
