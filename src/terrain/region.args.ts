/** Where a terrain map is wanted (terrainFilter, terrainSummary): a box or a GeoJSON area. */
import { IsInt, IsOptional, Max, Min, ValidateNested } from "class-validator";
import { GraphQLJSONObject } from "graphql-scalars";
import { ArgsType, Field, Float, InputType, Int } from "type-graphql";
import { parseArea } from "../geo/area-input.js";
import { MAX_LATITUDE } from "../tiles/tile-math.js";

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

/** Where a terrain map is wanted: a box or a GeoJSON area (exactly one), at a zoom. */
@ArgsType()
export class RegionArgs {
  @Field((_type) => BBoxInput, { nullable: true, description: "A box; give this or area" })
  @IsOptional()
  @ValidateNested()
  bbox?: BBoxInput | null;

  @Field((_type) => GraphQLJSONObject, {
    nullable: true,
    description:
      "A GeoJSON Polygon or MultiPolygon (or a Feature with one), EPSG:4326, closed rings, not self-intersecting, " +
      "at most 10,000 vertices, its bounding box within TERRAIN_FILTER_MAX_TILES tiles; give this or bbox",
  })
  @IsOptional()
  area?: Record<string, unknown> | null;

  @Field((_type) => Int, { nullable: true, description: "Default: the terrain model's zoom at the region's centre" })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(24)
  zoom?: number;
}

/** A region and the date of the imagery to read it from. */
@ArgsType()
export class DatedRegionArgs extends RegionArgs {
  @Field((_type) => String, {
    nullable: true,
    description:
      "Imagery date (YYYY-MM-DD, one of imageryDates); default: the latest date whose imagery covers the region, else the undated source",
  })
  @IsOptional()
  date?: string | null;
}

/** The box a region's imagery is looked up by: the bbox, or the area's bounding box. */
export function regionBox(a: { bbox?: BBoxInput | null; area?: Record<string, unknown> | null }): [number, number, number, number] {
  if (a.bbox) return [a.bbox.west, a.bbox.south, a.bbox.east, a.bbox.north];
  if (a.area && !a.bbox) return parseArea(a.area).bbox;
  return [-180, -MAX_LATITUDE, 180, MAX_LATITUDE];
}
