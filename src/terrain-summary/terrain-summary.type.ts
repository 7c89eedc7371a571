import { Field, Float, Int, ObjectType } from "type-graphql";
import { Terrain } from "../terrain/terrain.enum.js";

@ObjectType({ description: "One terrain's part of a region" })
export class TerrainShare {
  @Field((_type) => Terrain)
  terrain!: Terrain;

  @Field((_type) => Float, { description: "Geodesic area inside the region, square metres" })
  areaSqm!: number;

  @Field((_type) => Float, { description: "areaSqm / the region's areaSqm (0-1)" })
  share!: number;

  @Field((_type) => Float, { description: "Mean probability of the terrain over its grid cells that touch the region" })
  meanConfidence!: number;
}

@ObjectType({ description: "How much of a region each terrain covers" })
export class TerrainSummary {
  @Field((_type) => Float, { description: "Geodesic area of the region, square metres" })
  areaSqm!: number;

  @Field((_type) => Float, {
    description:
      "Of it, the part whose terrain is known (the sum of the terrains' areas; less than areaSqm where the source has no imagery)",
  })
  classifiedSqm!: number;

  @Field((_type) => [TerrainShare], { description: "Largest first; terrains absent from the region are left out" })
  terrains!: TerrainShare[];

  @Field((_type) => Int)
  zoom!: number;

  @Field((_type) => Int, { description: "Tiles analysed for this query (its cost)" })
  tilesAnalysed!: number;

  @Field((_type) => Int, { description: "Of those, tiles whose results were computed now" })
  tilesComputed!: number;

  @Field((_type) => String, { nullable: true, description: "The date of the imagery that answered (YYYY-MM-DD); null: the undated source" })
  imageryDate?: string | null;
}
