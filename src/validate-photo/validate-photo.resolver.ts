import GraphQLUpload from "graphql-upload/GraphQLUpload.mjs";
import type { FileUpload } from "graphql-upload/processRequest.mjs";
import { Arg, Args, Mutation, Resolver } from "type-graphql";
import { LandscapeArgs } from "../landscape/landscape.args.js";
import type { PhotoValidationService } from "./validate-photo.service.js";
import { PhotoValidation } from "./validate-photo.type.js";

@Resolver()
export class ValidatePhotoResolver {
  /** `service()` throws MODEL_UNAVAILABLE without models. */
  constructor(private readonly service: () => PhotoValidationService) {}

  @Mutation((_returns) => PhotoValidation, {
    description: "Is an uploaded photo plausibly taken at (lat, lon)? Multipart upload (GraphQL multipart request spec)",
  })
  async validatePhoto(
    @Arg("photo", (_type) => GraphQLUpload) photo: Promise<FileUpload>,
    @Args((_type) => LandscapeArgs) { lat, lon, zoom }: LandscapeArgs,
  ): Promise<PhotoValidation> {
    return this.service().validate(photo, lat, lon, zoom);
  }
}
