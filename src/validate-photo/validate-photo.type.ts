import { Field, Float, ObjectType, registerEnumType } from "type-graphql";
import { Landscape } from "../landscape/landscape.type.js";
import { GroundTerrainScore, TerrainScore } from "../terrain/terrain-score.type.js";

export enum Verdict {
  PLAUSIBLE = "PLAUSIBLE",
  SUSPICIOUS = "SUSPICIOUS",
  INCONCLUSIVE = "INCONCLUSIVE",
}
registerEnumType(Verdict, { name: "Verdict" });

@ObjectType()
export class GeoPoint {
  @Field((_type) => Float)
  lat!: number;

  @Field((_type) => Float)
  lon!: number;
}

@ObjectType({ description: "Is the photo plausibly taken where its geotag says?" })
export class PhotoValidation {
  @Field((_type) => Float, { description: "Calibrated probability (0-1) that the photo matches the place" })
  score!: number;

  @Field((_type) => Verdict)
  verdict!: Verdict;

  @Field((_type) => [TerrainScore], { description: "Terrain of the satellite tile at the claimed point" })
  expectedTerrain!: TerrainScore[];

  @Field((_type) => [GroundTerrainScore], { description: "Ground-level terrain one would expect to photograph there" })
  expectedGroundTerrain!: GroundTerrainScore[];

  @Field((_type) => [GroundTerrainScore], { description: "What the photo shows, by the scene classifier" })
  photoTerrain!: GroundTerrainScore[];

  @Field((_type) => String)
  explanation!: string;

  @Field((_type) => Landscape, { description: "The reference landscape generated for the claimed point" })
  reference!: Landscape;

  @Field((_type) => GeoPoint, { nullable: true, description: "Where the photo's EXIF GPS says it was taken" })
  exifLocation?: GeoPoint | null;

  @Field((_type) => Float, { nullable: true, description: "Metres between the EXIF GPS position and the claimed point" })
  exifDistanceM?: number | null;

  @Field((_type) => String)
  modelVersion!: string;
}
