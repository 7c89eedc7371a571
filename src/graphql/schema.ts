import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { TileResolver } from "../tile/tile.resolver.js";

/** The GraphQL schema from the resolvers; class-validator checks arguments before resolvers run. */
export async function buildGroundviewSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [TileResolver],
    validate: { forbidUnknownValues: false },
    emitSchemaFile: false,
  });
}
