/** A picture the service generated and serves at a stable URL. */
import { Field, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "A generated image served by this service" })
export class GeneratedImage {
  @Field((_type) => String, { description: "Stable URL; its ETag is bound to the model version" })
  url!: string;

  @Field((_type) => String)
  mimeType!: string;

  @Field((_type) => Int)
  width!: number;

  @Field((_type) => Int)
  height!: number;
}
