import { GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, Int, ObjectType } from "type-graphql";
import { Terrain } from "../terrain/terrain.enum.js";

@ObjectType({ description: "An area whose terrain changed between the two dates" })
export class TerrainChangeArea {
  @Field((_type) => Terrain)
  fromTerrain!: Terrain;

  @Field((_type) => Terrain)
  toTerrain!: Terrain;

  @Field((_type) => Float, { description: "Geodesic area, square metres" })
  areaSqm!: number;

  @Field((_type) => Float, {
    description:
      "Mean over the area's cells of the change detector's probability that the terrain changed (0-1); " +
      "without a detector, of the lower of the two dates' probabilities of their terrain",
  })
  confidence!: number;

  @Field((_type) => GraphQLJSONObject, { description: "GeoJSON Polygon, EPSG:4326" })
  geometry!: Record<string, unknown>;
}

@ObjectType({ description: "The area that went from one terrain to another" })
export class TerrainTransition {
  @Field((_type) => Terrain)
  fromTerrain!: Terrain;

  @Field((_type) => Terrain)
  toTerrain!: Terrain;

  @Field((_type) => Float, { description: "Geodesic area, square metres: the sum of this transition's areas" })
  areaSqm!: number;

  @Field((_type) => Int, { description: "How many areas" })
  areas!: number;
}

@ObjectType({ description: "Where the terrain changed between two imagery dates" })
export class TerrainChange {
  @Field((_type) => String)
  from!: string;

  @Field((_type) => String)
  to!: string;

  @Field((_type) => [TerrainChangeArea], { description: "Largest first; at most `first` of them (totalCount: all)" })
  changes!: TerrainChangeArea[];

  @Field((_type) => Int)
  totalCount!: number;

  @Field((_type) => [TerrainTransition], { description: "Area per from → to pair over all the changes, largest first" })
  summary!: TerrainTransition[];

  @Field((_type) => Float, { description: "Geodesic area of the region, square metres" })
  areaSqm!: number;

  @Field((_type) => Float, { description: "Of it, the part both dates have imagery of (where change can be told)" })
  comparedSqm!: number;

  @Field((_type) => Float, { description: "Of that, the part that changed: the sum of the summary's areas" })
  changedSqm!: number;

  @Field((_type) => Float, { description: "The probability a cell needed to count as changed (see method)" })
  minConfidence!: number;

  @Field((_type) => String, {
    description:
      "How change was told: detector (the change detector reads both dates' pictures; the terrain grids name the terrains) " +
      "or grids (the terrain grids alone: both dates at least minConfidence and different terrains)",
  })
  method!: string;

  @Field((_type) => GraphQLJSONObject, { description: "The changes returned, as a GeoJSON FeatureCollection" })
  featureCollection!: Record<string, unknown>;

  @Field((_type) => Int)
  zoom!: number;

  @Field((_type) => Int, { description: "Tiles both dates have imagery of" })
  tilesCompared!: number;

  @Field((_type) => Int, { description: "Tiles analysed now, on either date" })
  tilesComputed!: number;
}
