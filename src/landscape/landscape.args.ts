import { ArgsType } from "type-graphql";
import { PointArgs } from "../tile/tile.args.js";

/** A point and an optional zoom; the zoom defaults to the terrain model's ground resolution. */
@ArgsType()
export class LandscapeArgs extends PointArgs {}
