import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { AreaJobsResolver } from "../area-jobs/area-jobs.resolver.js";
import { ImageryResolver } from "../imagery/imagery.resolver.js";
import { TerrainChangeResolver } from "../terrain-change/terrain-change.resolver.js";
import { LandscapeResolver } from "../landscape-query/landscape.resolver.js";
import { SimilarPlacesResolver } from "../similar-places/similar-places.resolver.js";
import { TerrainFilterResolver } from "../terrain-filter/terrain-filter.resolver.js";
import { TerrainSummaryResolver } from "../terrain-summary/terrain-summary.resolver.js";
import { TileResolver } from "../tile-query/tile.resolver.js";
import { ValidatePhotoResolver } from "../validate-photo/validate-photo.resolver.js";

/**
 * The GraphQL schema from the resolvers; class-validator checks arguments before resolvers run.
 * `resolvers` are the resolver instances, built with their services (src/app.ts); without them
 * the schema can be printed (npm run schema) but not run.
 */
export async function buildGroundviewSchema(resolvers: object[] = []): Promise<GraphQLSchema> {
  return buildSchema({
    container: {
      get(cls: abstract new (...args: never[]) => unknown) {
        const r = resolvers.find((x) => x instanceof cls);
        if (!r) throw new Error(`no ${cls.name} instance was given to the schema`);
        return r;
      },
    },
    resolvers: [
      TileResolver,
      LandscapeResolver,
      TerrainFilterResolver,
      TerrainSummaryResolver,
      ImageryResolver,
      TerrainChangeResolver,
      AreaJobsResolver,
      SimilarPlacesResolver,
      ValidatePhotoResolver,
    ],
    validate: { forbidUnknownValues: false },
    emitSchemaFile: false,
  });
}
