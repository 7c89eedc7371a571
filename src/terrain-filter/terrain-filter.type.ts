import { GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, Int, ObjectType } from "type-graphql";
import { Terrain } from "../terrain/terrain.enum.js";

@ObjectType({
  description: "Adjacent cells of one terrain (terrain grids of the tiles, merged across tile borders), clipped to the region",
})
export class TerrainArea {
  @Field((_type) => GraphQLJSONObject, { description: "GeoJSON Polygon (or MultiPolygon), EPSG:4326" })
  geometry!: Record<string, unknown>;

  @Field((_type) => Terrain)
  terrain!: Terrain;

  @Field((_type) => Float, { description: "Geodesic area in square metres" })
  areaSqm!: number;

  @Field((_type) => Float, { description: "Mean probability of the terrain over the area's grid cells" })
  meanConfidence!: number;

  @Field((_type) => Int, { description: "Tiles the area spans" })
  tileCount!: number;

  @Field((_type) => Int, { description: "Terrain grid cells the area is made of (before clipping)" })
  cellCount!: number;
}

@ObjectType()
export class TerrainAreaEdge {
  @Field((_type) => String)
  cursor!: string;

  @Field((_type) => TerrainArea)
  node!: TerrainArea;
}

@ObjectType()
export class PageInfo {
  @Field((_type) => Boolean)
  hasNextPage!: boolean;

  @Field((_type) => Boolean)
  hasPreviousPage!: boolean;

  @Field((_type) => String, { nullable: true })
  startCursor?: string | null;

  @Field((_type) => String, { nullable: true })
  endCursor?: string | null;
}

@ObjectType({ description: "Matching areas, largest first (Relay connection)" })
export class TerrainAreaConnection {
  @Field((_type) => [TerrainAreaEdge])
  edges!: TerrainAreaEdge[];

  @Field((_type) => PageInfo)
  pageInfo!: PageInfo;

  @Field((_type) => Int, { description: "Areas matching in the whole region" })
  totalCount!: number;

  @Field((_type) => GraphQLJSONObject, { description: "This page's areas as a GeoJSON FeatureCollection" })
  featureCollection!: Record<string, unknown>;

  @Field((_type) => Int)
  zoom!: number;

  @Field((_type) => Int, { description: "Tiles analysed for this query (its cost)" })
  tilesAnalysed!: number;

  @Field((_type) => Int, { description: "Of those, tiles whose results were computed now" })
  tilesComputed!: number;

  @Field((_type) => String, { nullable: true, description: "The date of the imagery that answered (YYYY-MM-DD); null: the undated source" })
  imageryDate?: string | null;
}
