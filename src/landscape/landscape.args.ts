import { IsOptional } from "class-validator";
import { ArgsType, Field } from "type-graphql";
import { PointArgs } from "../geo/point.args.js";

/** A point, an optional zoom (default: the terrain model's ground resolution) and an optional imagery date. */
@ArgsType()
export class LandscapeArgs extends PointArgs {
  @Field((_type) => String, {
    nullable: true,
    description:
      "Imagery date (YYYY-MM-DD, one of imageryDates); default: the latest date whose imagery covers the point, else the undated source",
  })
  @IsOptional()
  date?: string | null;
}
