import { Arg, Query, Resolver } from "type-graphql";
import { outOfRange } from "../errors/errors.js";
import { BBoxInput } from "../terrain/region.args.js";
import type { ImageryLayers } from "./imagery-layers.js";
import { ImageryDate } from "./imagery.type.js";

@Resolver()
export class ImageryResolver {
  constructor(private readonly layers: ImageryLayers) {}

  @Query((_returns) => [ImageryDate], { description: "The imagery dates whose imagery meets a box, newest first" })
  async imageryDates(@Arg("bbox", (_type) => BBoxInput) bbox: BBoxInput): Promise<ImageryDate[]> {
    if (!(bbox.west < bbox.east)) throw outOfRange("bbox", "bbox.west must be less than bbox.east");
    if (!(bbox.south < bbox.north)) throw outOfRange("bbox", "bbox.south must be less than bbox.north");
    const layers = await this.layers.dates([bbox.west, bbox.south, bbox.east, bbox.north]);
    return layers.map((l) => ({
      date: l.date,
      tiles: l.tiles,
      minZoom: l.minZoom,
      maxZoom: l.maxZoom,
      bbox: [...l.bounds],
      file: l.file,
      importedAt: l.importedAt,
    }));
  }
}
