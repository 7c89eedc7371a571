import { Field, Float, ObjectType } from "type-graphql";
import { TileRef } from "../geo/tile-ref.js";
import { GeneratedImage } from "../imaging/generated-image.type.js";
import { Terrain } from "../terrain/terrain.enum.js";

@ObjectType({ description: "An analysed place whose latent vector is near the query point's" })
export class SimilarPlace {
  @Field((_type) => Float, { description: "Latitude of the tile's centre" })
  lat!: number;

  @Field((_type) => Float, { description: "Longitude of the tile's centre" })
  lon!: number;

  @Field((_type) => Float, { description: "Euclidean distance between the latent vectors" })
  distance!: number;

  @Field((_type) => Terrain)
  dominantTerrain!: Terrain;

  @Field((_type) => TileRef)
  tile!: TileRef;

  @Field((_type) => GeneratedImage)
  image!: GeneratedImage;
}
