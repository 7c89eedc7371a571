import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";

export enum AreaJobState {
  QUEUED = "QUEUED",
  RUNNING = "RUNNING",
  COMPLETED = "COMPLETED",
  FAILED = "FAILED",
}

registerEnumType(AreaJobState, {
  name: "AreaJobState",
  description: "QUEUED: no chunk started; RUNNING; COMPLETED: every tile done; FAILED: finished, but some chunk failed every retry",
});

@ObjectType({ description: "A prepareArea job: every tile of an area analysed in the background" })
export class AreaJob {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => AreaJobState)
  state!: AreaJobState;

  @Field((_type) => Float, { description: "(tilesDone + tilesFailed) / tilesTotal, 0-1 (1 for an area without tiles)" })
  progress!: number;

  @Field((_type) => Int, { description: "Tiles of the area (a parcel: those that touch it) at the job's zoom" })
  tilesTotal!: number;

  @Field((_type) => Int, { description: "Tiles done: analysed (stored results reused or computed) or found without imagery" })
  tilesDone!: number;

  @Field((_type) => Int, { description: "Of tilesDone, tiles the imagery source has no picture for" })
  tilesWithoutImagery!: number;

  @Field((_type) => Int, { description: "Of tilesDone, tiles whose results this job computed (the others were stored already)" })
  tilesComputed!: number;

  @Field((_type) => Int, { description: "Tiles of chunks that failed every retry" })
  tilesFailed!: number;

  @Field((_type) => Int)
  zoom!: number;

  @Field((_type) => String, { description: "The model version the job was prepared for" })
  modelVersion!: string;

  @Field((_type) => String, { nullable: true, description: "Why a chunk failed, when one did" })
  error!: string | null;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date, { nullable: true })
  startedAt!: Date | null;

  @Field((_type) => Date, { nullable: true })
  finishedAt!: Date | null;
}
