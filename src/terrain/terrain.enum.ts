import { registerEnumType } from "type-graphql";

/** The terrain classifier's classes (satellite view), in its output order. */
export enum Terrain {
  GRASS = "grass",
  FIELD = "field",
  INDUSTRIAL = "industrial",
  WATER = "water",
  FOREST = "forest",
  RESIDENTIAL = "residential",
  PARKING = "parking",
}
registerEnumType(Terrain, { name: "Terrain", description: "Terrain seen from above (the terrain classifier's classes)" });

/** The scene classifier's classes (ground view), in its output order. */
export enum GroundTerrain {
  FOREST = "forest",
  FIELD = "field",
  WATER = "water",
  URBAN = "urban",
  ROAD = "road",
  MOUNTAIN = "mountain",
  SNOW_ICE = "snow_ice",
  DESERT = "desert",
  BARREN = "barren",
  WETLAND = "wetland",
}
registerEnumType(GroundTerrain, { name: "GroundTerrain", description: "Terrain seen from the ground (the scene classifier's classes)" });

export const terrainFromClass = (c: string) => c as Terrain;
