import { Field, ObjectType } from "type-graphql";
import { TileRef } from "../geo/tile-ref.js";

@ObjectType({
  description: "A satellite tile of the configured source, Web Mercator z/x/y",
})
export class Tile extends TileRef {
  @Field((_type) => String, {
    description: "Identifier of the imagery source (cache namespace)",
  })
  source!: string;

  @Field((_type) => String, {
    description: "Attribution the imagery's terms require",
  })
  attribution!: string;

  @Field((_type) => String, {
    description: "URL of the tile image on this service",
  })
  url!: string;

  @Field((_type) => Boolean, {
    description: "Whether the tile is in the cache now (no fetch is made)",
  })
  cached!: boolean;

  @Field((_type) => String, {
    nullable: true,
    description: "ETag of the cached image",
  })
  etag?: string | null;

  @Field((_type) => Date, { nullable: true })
  fetchedAt?: Date | null;

  @Field((_type) => Date, { nullable: true })
  expiresAt?: Date | null;
}
