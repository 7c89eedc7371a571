/** Named public satellite imagery services, with the attribution their terms require. */
export interface TilePreset {
  readonly template: string;
  readonly minZoom: number;
  readonly maxZoom: number;
  readonly attribution: string;
  readonly terms: string;
}

export const TILE_PRESETS: Readonly<Record<string, TilePreset>> = Object.freeze({
  "esri-world-imagery": {
    template: "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
    minZoom: 0,
    maxZoom: 19,
    attribution: "Tiles © Esri — Source: Esri, Maxar, Earthstar Geographics, and the GIS User Community",
    terms: "https://www.esri.com/en-us/legal/terms/full-master-agreement",
  },
  "eox-s2cloudless-2020": {
    template: "https://tiles.maps.eox.at/wmts/1.0.0/s2cloudless-2020_3857/default/g/{z}/{y}/{x}.jpg",
    minZoom: 0,
    maxZoom: 15,
    attribution: "Sentinel-2 cloudless - https://s2maps.eu by EOX IT Services GmbH (Contains modified Copernicus Sentinel data 2020)",
    terms: "CC BY-NC-SA 4.0 (non-commercial); https://s2maps.eu",
  },
  "usgs-imagery": {
    template: "https://basemap.nationalmap.gov/arcgis/rest/services/USGSImageryOnly/MapServer/tile/{z}/{y}/{x}",
    minZoom: 0,
    maxZoom: 16,
    attribution: "USGS The National Map: Orthoimagery",
    terms: "US public domain",
  },
});
