import { ArrayMaxSize, ArrayMinSize, IsInt, IsOptional, Max, Min, ValidateNested } from "class-validator";
import { ArgsType, Field, Float, InputType, Int } from "type-graphql";
import { MAX_LATITUDE } from "../tiles/tile-math.js";
import { Terrain } from "../landscape/terrain.enum.js";

@InputType({ description: "A box in degrees (EPSG:4326); west < east (no antimeridian crossing), south < north" })
export class BBoxInput {
  @Field((_type) => Float)
  @Min(-180)
  @Max(180)
  west!: number;

  @Field((_type) => Float)
  @Min(-MAX_LATITUDE)
  @Max(MAX_LATITUDE)
  south!: number;

  @Field((_type) => Float)
  @Min(-180)
  @Max(180)
  east!: number;

  @Field((_type) => Float)
  @Min(-MAX_LATITUDE)
  @Max(MAX_LATITUDE)
  north!: number;
}

@ArgsType()
export class TerrainFilterArgs {
  @Field((_type) => BBoxInput)
  @ValidateNested()
  bbox!: BBoxInput;

  @Field((_type) => [Terrain])
  @ArrayMinSize(1)
  @ArrayMaxSize(7)
  terrain!: Terrain[];

  @Field((_type) => Int, { nullable: true, description: "Default: the terrain model's zoom at the box's centre" })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(24)
  zoom?: number;

  @Field((_type) => Float, { defaultValue: 0.5, description: "A tile matches when its probability for the terrain is at least this" })
  @Min(0)
  @Max(1)
  minConfidence!: number;

  @Field((_type) => Float, { defaultValue: 0, description: "Areas smaller than this (m²) are left out" })
  @Min(0)
  minAreaSqm!: number;

  @Field((_type) => Int, { defaultValue: 50 })
  @Min(1)
  @Max(500)
  first!: number;

  @Field((_type) => String, { nullable: true, description: "Cursor of the last area of the previous page" })
  @IsOptional()
  after?: string;
}
