/** A terrain (aerial or ground) with its probability, as answers list them. */
import { Field, Float, ObjectType } from "type-graphql";
import { GroundTerrain, Terrain } from "./terrain.enum.js";

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
