import { Field, Float, ObjectType } from "type-graphql";
import { TileRef } from "../geo/tile-ref.js";
import { GeneratedImage } from "../imaging/generated-image.type.js";
import { Terrain } from "../terrain/terrain.enum.js";
import { TerrainScore } from "../terrain/terrain-score.type.js";

@ObjectType({ description: "What a person standing here would see, generated from the satellite tile" })
export class Landscape {
  @Field((_type) => [TerrainScore], { description: "Terrain probabilities of the tile, highest first; they sum to 1" })
  terrain!: TerrainScore[];

  @Field((_type) => Terrain)
  dominantTerrain!: Terrain;

  @Field((_type) => [Float], { description: "The tile's latent vector (the generator's input)" })
  latent!: number[];

  @Field((_type) => GeneratedImage)
  image!: GeneratedImage;

  @Field((_type) => String)
  modelVersion!: string;

  @Field((_type) => Boolean, { description: "True when the results were already stored (nothing was computed)" })
  cached!: boolean;

  @Field((_type) => TileRef)
  tile!: TileRef;

  @Field((_type) => String, { nullable: true, description: "The date of the imagery that answered (YYYY-MM-DD); null: the undated source" })
  imageryDate?: string | null;
}
