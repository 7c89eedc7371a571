/** A tile's address with its footprint, as every answer about a tile gives it. */
import { GraphQLJSONObject } from "graphql-scalars";
import { Field, Int, ObjectType } from "type-graphql";
import { type PolygonGeometry, type TileKey, tileBoundsGeometry } from "../tiles/tile-math.js";

@ObjectType({ description: "A tile address with its footprint" })
export class TileRef {
  @Field((_type) => Int)
  z!: number;

  @Field((_type) => Int)
  x!: number;

  @Field((_type) => Int)
  y!: number;

  @Field((_type) => GraphQLJSONObject, { description: "GeoJSON Polygon, EPSG:4326" })
  bounds!: PolygonGeometry;
}

export const tileRef = (k: TileKey): TileRef => ({ z: k.z, x: k.x, y: k.y, bounds: tileBoundsGeometry(k) });
