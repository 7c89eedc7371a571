import { IsInt, IsOptional, Max, Min } from "class-validator";
import { ArgsType, Field, Float, Int } from "type-graphql";
import { MAX_LATITUDE } from "../tiles/tile-math.js";

@ArgsType()
export class PointArgs {
  @Field((_type) => Float, {
    description: `Latitude in degrees, within ±${MAX_LATITUDE} (Web Mercator)`,
  })
  @Min(-MAX_LATITUDE)
  @Max(MAX_LATITUDE)
  lat!: number;

  @Field((_type) => Float, { description: "Longitude in degrees, within ±180" })
  @Min(-180)
  @Max(180)
  lon!: number;

  @Field((_type) => Int, {
    nullable: true,
    description: "Zoom level; must be within the tile source's range",
  })
  @IsInt()
  @Min(0)
  @Max(24)
  zoom?: number;
}
