import { IsOptional, Max, Min } from "class-validator";
import { ArgsType, Field, Float, Int } from "type-graphql";
import { RegionArgs } from "../terrain/region.args.js";

@ArgsType()
export class TerrainChangeArgs extends RegionArgs {
  @Field((_type) => String, { description: "The earlier imagery date (YYYY-MM-DD, one of imageryDates)" })
  from!: string;

  @Field((_type) => String, { description: "The later imagery date (YYYY-MM-DD, one of imageryDates)" })
  to!: string;

  @Field((_type) => Float, {
    nullable: true,
    description:
      "The change detector's probability a cell needs to count as changed (its terrains must differ too). " +
      "Absent: the model's threshold, chosen on held-out data so that light, season and sensor alone flag at most 2 % of an area",
  })
  @IsOptional()
  @Min(0)
  @Max(1)
  minConfidence?: number | null;

  @Field((_type) => Float, { defaultValue: 0, description: "Changed areas smaller than this (m²) are left out" })
  @Min(0)
  minAreaSqm!: number;

  @Field((_type) => Int, { defaultValue: 200, description: "At most this many changes (the summary covers all)" })
  @IsOptional()
  @Min(1)
  @Max(1000)
  first!: number;
}
