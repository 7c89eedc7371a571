import { Field, Float, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "One acquisition date of the tile source's imagery" })
export class ImageryDate {
  @Field((_type) => String, { description: "YYYY-MM-DD" })
  date!: string;

  @Field((_type) => Int, { description: "Tiles stored for this date (all zooms)" })
  tiles!: number;

  @Field((_type) => Int)
  minZoom!: number;

  @Field((_type) => Int)
  maxZoom!: number;

  @Field((_type) => [Float], { description: "[west, south, east, north] of this date's imagery, EPSG:4326" })
  bbox!: number[];

  @Field((_type) => String, { nullable: true, description: "The file it was imported from" })
  file?: string | null;

  @Field((_type) => Date, { description: "When it was imported" })
  importedAt!: Date;
}
