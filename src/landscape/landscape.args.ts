import { IsInt, IsOptional, Max, Min } from "class-validator";
import { ArgsType, Field, Float, Int } from "type-graphql";
import { MAX_LATITUDE } from "../tiles/tile-math.js";

@ArgsType()
export class LandscapeArgs {
  @Field((_type) => Float)
  @Min(-MAX_LATITUDE)
  @Max(MAX_LATITUDE)
  lat!: number;

  @Field((_type) => Float)
  @Min(-180)
  @Max(180)
  lon!: number;

  @Field((_type) => Int, { nullable: true, description: "Default: the zoom matching the terrain model's ground resolution" })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(24)
  zoom?: number;
}
