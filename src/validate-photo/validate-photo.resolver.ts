import GraphQLUpload from "graphql-upload/GraphQLUpload.mjs";
import type { FileUpload } from "graphql-upload/processRequest.mjs";
import { Arg, Args, Ctx, Mutation, Resolver } from "type-graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { LandscapeArgs } from "../landscape/landscape.args.js";
import { PhotoValidation } from "./validate-photo.type.js";

@Resolver()
export class ValidatePhotoResolver {
  @Mutation((_returns) => PhotoValidation, {
    description: "Is an uploaded photo plausibly taken at (lat, lon)? Multipart upload (GraphQL multipart request spec)",
  })
  async validatePhoto(
    @Arg("photo", (_type) => GraphQLUpload) photo: Promise<FileUpload>,
    @Args((_type) => LandscapeArgs) { lat, lon, zoom }: LandscapeArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PhotoValidation> {
    return ctx.models().photos.validate(photo, lat, lon, zoom);
  }
}
