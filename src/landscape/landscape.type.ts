import { GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, Int, ObjectType } from "type-graphql";
import type { PolygonGeometry } from "../tiles/tile-math.js";
import { GroundTerrain, Terrain } from "../terrain/terrain.enum.js";

@ObjectType()
export class TerrainScore {
  @Field((_type) => Terrain)
  terrain!: Terrain;

  @Field((_type) => Float)
  probability!: number;
}

@ObjectType()
export class GroundTerrainScore {
  @Field((_type) => GroundTerrain)
  terrain!: GroundTerrain;

  @Field((_type) => Float)
  probability!: number;
}

@ObjectType({ description: "A generated image served by this service" })
export class GeneratedImage {
  @Field((_type) => String, { description: "Stable URL; its ETag is bound to the model version" })
  url!: string;

  @Field((_type) => String)
  mimeType!: string;

  @Field((_type) => Int)
  width!: number;

  @Field((_type) => Int)
  height!: number;
}

@ObjectType({ description: "A tile address with its footprint" })
export class TileRef {
  @Field((_type) => Int)
  z!: number;

  @Field((_type) => Int)
  x!: number;

  @Field((_type) => Int)
  y!: number;

  @Field((_type) => GraphQLJSONObject, { description: "GeoJSON Polygon, EPSG:4326" })
  bounds!: PolygonGeometry;
}

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
