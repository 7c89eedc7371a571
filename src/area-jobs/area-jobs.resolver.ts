import { Arg, Args, ID, Mutation, Query, Resolver } from "type-graphql";
import { DatedRegionArgs, regionBox } from "../terrain/region.args.js";
import type { AreaJobRow } from "./area-job.store.js";
import type { AreaJobsService } from "./area-jobs.service.js";
import { AreaJob, AreaJobState } from "./area-job.type.js";

function toAreaJob(r: AreaJobRow): AreaJob {
  return {
    id: r.id,
    state: r.state as AreaJobState,
    progress: r.tilesTotal ? (r.tilesDone + r.tilesFailed) / r.tilesTotal : 1,
    tilesTotal: r.tilesTotal,
    tilesDone: r.tilesDone,
    tilesWithoutImagery: r.tilesWithoutImagery,
    tilesComputed: r.tilesComputed,
    tilesFailed: r.tilesFailed,
    zoom: r.zoom,
    modelVersion: r.modelVersion,
    error: r.error,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
}

@Resolver()
export class AreaJobsResolver {
  /** `service()` throws MODEL_UNAVAILABLE without models. */
  constructor(private readonly service: () => AreaJobsService) {}

  @Mutation((_returns) => AreaJob, {
    description:
      "Analyses every tile of a box or a GeoJSON area in the background (pre-warming terrainFilter, terrainSummary and " +
      "the terrain vector tiles), up to AREA_JOB_MAX_TILES tiles, on the imagery terrainFilter reads there (the date given, " +
      "else the latest date covering the region, else the undated source); any service process on the database works its " +
      "chunks, and it survives restarts. Follow it with areaJob(id).",
  })
  async prepareArea(@Args((_type) => DatedRegionArgs) args: DatedRegionArgs): Promise<AreaJob> {
    return toAreaJob(await this.service().prepare(args, regionBox(args)));
  }

  @Query((_returns) => AreaJob, { description: "A prepareArea job's state and progress (AREA_JOB_NOT_FOUND for an unknown id)" })
  async areaJob(@Arg("id", (_type) => ID) id: string): Promise<AreaJob> {
    return toAreaJob(await this.service().get(id));
  }
}
