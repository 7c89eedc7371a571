import { ArrayMaxSize, ArrayMinSize, IsOptional, Max, Min } from "class-validator";
import { ArgsType, Field, Float, Int } from "type-graphql";
import { DatedRegionArgs } from "../terrain/region.args.js";
import { Terrain } from "../terrain/terrain.enum.js";

@ArgsType()
export class TerrainFilterArgs extends DatedRegionArgs {
  @Field((_type) => [Terrain])
  @ArrayMinSize(1)
  @ArrayMaxSize(7)
  terrain!: Terrain[];

  @Field((_type) => Float, {
    defaultValue: 0.5,
    description:
      "A piece of a tile's terrain grid (its connected cells of one terrain) matches when their mean probability is at least this",
  })
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
