// Groundview's map page: the service's own satellite tiles (TileJSON), a landscape card on click,
// terrainFilter polygons for a drawn box, the terrain vector tiles as a layer, validatePhoto
// for a dropped photo, and dated imagery: a date picker, a before/after swipe and terrainChange
// polygons coloured by transition for a box drawn while comparing. Plain ES module,
// no build step; MapLibre GL JS is served by the service from its npm package.
import * as maplibregl from "/vendor/maplibre-gl/maplibre-gl.mjs";
import { readExifGps } from "/web/exif-gps.js";

const TERRAIN_COLOURS = {
  GRASS: "#8bc34a",
  FIELD: "#e6c229",
  INDUSTRIAL: "#9c27b0",
  WATER: "#1e88e5",
  FOREST: "#1b5e20",
  RESIDENTIAL: "#e53935",
  PARKING: "#607d8b",
};
const TERRAINS = Object.keys(TERRAIN_COLOURS);
/** What a person should read for each error code (the server's message follows it). */
const ERROR_WORDS = {
  BBOX_TOO_LARGE: "The box is too large: draw a smaller one or zoom in.",
  TILE_UNAVAILABLE: "No imagery here right now (the imagery service could not be reached).",
  TILE_NOT_FOUND: "No imagery here.",
  OUT_OF_RANGE: "That place or zoom is out of range.",
  RATE_LIMITED: "Too many requests: wait a moment and try again.",
  UNSUPPORTED_IMAGE: "That file is not a photo the service can read (JPEG, PNG, WebP, HEIF or TIFF).",
  PAYLOAD_TOO_LARGE: "That photo is too large.",
  MODEL_UNAVAILABLE: "The models are not loaded on the server.",
  DATABASE_UNAVAILABLE: "The service's database is unavailable.",
  INVALID_DATE: "That is not a date the service understands (YYYY-MM-DD).",
  IMAGERY_DATE_NOT_FOUND: "There is no imagery of that date here.",
  BAD_USER_INPUT: "The request was not accepted.",
};

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, { dataset, ...props } = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  Object.assign(e.dataset, dataset);
  e.append(...children);
  return e;
};

/** An error with the service's code; shown in words by showError. */
class ServiceError extends Error {
  constructor(message, code, retryAfter) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function graphql(query, variables) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return readGraphQL(res);
}

async function readGraphQL(res) {
  const retryAfter = res.headers.get("retry-after");
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ServiceError(
      `the service answered HTTP ${res.status}`,
      res.status === 429 ? "RATE_LIMITED" : "HTTP_" + res.status,
      retryAfter,
    );
  }
  const err = body.errors?.[0] ?? (body.error ? { message: body.error.message, extensions: { code: body.error.code } } : undefined);
  if (err) throw new ServiceError(err.message, err.extensions?.code ?? (res.status === 429 ? "RATE_LIMITED" : "ERROR"), retryAfter);
  if (!res.ok)
    throw new ServiceError(
      `the service answered HTTP ${res.status}`,
      res.status === 429 ? "RATE_LIMITED" : "HTTP_" + res.status,
      retryAfter,
    );
  return body.data;
}

function showError(err) {
  const box = $("#error");
  box.replaceChildren();
  if (!err) {
    box.hidden = true;
    return;
  }
  const code = err.code ?? "ERROR";
  const words = ERROR_WORDS[code] ?? "Something went wrong.";
  const retry = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : "";
  box.append(
    el("strong", { textContent: words + retry }),
    el("br"),
    document.createTextNode(err.message + " "),
    el("code", { textContent: code }),
  );
  box.hidden = false;
}

let pending = 0;
async function busy(work) {
  pending++;
  $("#busy").hidden = false;
  try {
    showError(null);
    return await work();
  } catch (err) {
    showError(err);
    return undefined;
  } finally {
    if (--pending === 0) $("#busy").hidden = true;
  }
}

/** Shows a card at the top of the panel (the latest answer first). */
function reveal(card) {
  card.hidden = false;
  $("#busy").after(card);
}

const pct = (p) => `${(p * 100).toFixed(1)} %`;
const fmtPoint = (lat, lon) => `${lat.toFixed(5)}, ${lon.toFixed(5)}`;

// ---------------------------------------------------------------- map

/** A MapLibre expression: the colour of the terrain named by a feature's `prop`. */
const terrainColour = (prop) => ["match", ["get", prop], ...TERRAINS.flatMap((t) => [t, TERRAIN_COLOURS[t]]), "#ffffff"];
/** terrainChange polygons, coloured by transition: filled with the new terrain's colour, outlined in the old one's. */
const CHANGE_LAYERS = [
  { id: "change-fill", type: "fill", source: "change", paint: { "fill-color": terrainColour("toTerrain"), "fill-opacity": 0.55 } },
  { id: "change-line", type: "line", source: "change", paint: { "line-color": terrainColour("fromTerrain"), "line-width": 3 } },
];

const tileJson = await (await fetch("/tiles/satellite.json")).json();
const [cLon, cLat, cZoom] = tileJson.center ?? [0, 20, 2];
/** The source's imagery dates, newest first (TileJSON `dates`); "" in the picker is the latest. */
const DATES = (tileJson.dates ?? []).map((d) => d.date);
let imageryDate = "";
/** The satellite tile URLs of a date ("" or undefined: the latest, as TileJSON gives them). */
const tilesFor = (date) => (date ? [`${location.origin}/tiles/satellite/{z}/{x}/{y}?date=${date}`] : tileJson.tiles);
const map = new maplibregl.Map({
  container: "map",
  style: {
    version: 8,
    sources: {
      satellite: { type: "raster", url: "/tiles/satellite.json", tileSize: 256 },
      "terrain-tiles": { type: "vector", url: "/tiles/terrain.json" },
      terrain: { type: "geojson", data: { type: "FeatureCollection", features: [] }, generateId: true },
      box: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      sample: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      change: { type: "geojson", data: { type: "FeatureCollection", features: [] }, generateId: true },
    },
    layers: [
      { id: "satellite", type: "raster", source: "satellite" },
      {
        // The terrain vector tiles (hidden until the toolbar's "Terrain layer" is pressed). Their
        // terrain names are the model's lower-case class names.
        id: "terrain-tiles-fill",
        type: "fill",
        source: "terrain-tiles",
        "source-layer": "terrain",
        minzoom: 12,
        layout: { visibility: "none" },
        paint: {
          "fill-color": ["match", ["upcase", ["get", "terrain"]], ...TERRAINS.flatMap((t) => [t, TERRAIN_COLOURS[t]]), "#ffffff"],
          "fill-opacity": 0.35,
          "fill-outline-color": "#ffffff",
        },
      },
      {
        id: "sample-outline",
        type: "line",
        source: "sample",
        paint: { "line-color": "#ffffff", "line-dasharray": [2, 2], "line-width": 1.5 },
      },
      {
        id: "terrain-fill",
        type: "fill",
        source: "terrain",
        paint: {
          "fill-color": terrainColour("terrain"),
          "fill-opacity": 0.45,
        },
      },
      {
        id: "terrain-line",
        type: "line",
        source: "terrain",
        paint: {
          "line-color": terrainColour("terrain"),
          "line-width": 1.5,
        },
      },
      ...CHANGE_LAYERS,
      { id: "box-line", type: "line", source: "box", paint: { "line-color": "#ffeb3b", "line-width": 2 } },
    ],
  },
  center: [cLon, cLat],
  zoom: cZoom,
  maxZoom: 19,
  attributionControl: { compact: false },
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "bottom-left");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
map.on("load", () => {
  const s = tileJson.sampleArea;
  if (s) map.getSource("sample").setData({ type: "Feature", properties: {}, geometry: boxPolygon(s.bounds) });
});
// Tile errors (e.g. no imagery outside the sample area when offline) are shown, not swallowed.
map.on("error", (e) => {
  const status = e.error?.status;
  if (e.sourceId === "satellite") {
    showError(
      new ServiceError(
        `satellite tiles failed here${status ? ` (HTTP ${status})` : ""}`,
        status === 429 ? "RATE_LIMITED" : "TILE_UNAVAILABLE",
      ),
    );
  } else showError(new ServiceError(e.error?.message ?? String(e.error), "MAP_ERROR"));
});

const boxPolygon = ([w, s, e, n]) => ({
  type: "Polygon",
  coordinates: [
    [
      [w, s],
      [e, s],
      [e, n],
      [w, n],
      [w, s],
    ],
  ],
});

// ---------------------------------------------------------------- landscape card

const marker = new maplibregl.Marker({ color: "#ffeb3b" });
let lastPoint; // { lat, lon } of the last click: where a photo without GPS is checked

async function showLandscape(lat, lon) {
  lastPoint = { lat, lon };
  marker.setLngLat([lon, lat]).addTo(map);
  if (pendingPhoto) {
    const photo = pendingPhoto;
    pendingPhoto = undefined;
    return checkPhoto(photo, lat, lon, "the clicked point");
  }
  return busy(async () => {
    const { landscape: l } = await graphql(
      `
        query Landscape($lat: Float!, $lon: Float!, $date: String) {
          landscape(lat: $lat, lon: $lon, date: $date) {
            dominantTerrain
            imageryDate
            cached
            modelVersion
            terrain {
              terrain
              probability
            }
            image {
              url
              width
              height
            }
            tile {
              z
              x
              y
            }
          }
        }
      `,
      { lat, lon, date: currentDate() },
    );
    renderLandscape(lat, lon, l);
    const { similarPlaces } = await graphql(
      `
        query Similar($lat: Float!, $lon: Float!) {
          similarPlaces(lat: $lat, lon: $lon, first: 5) {
            lat
            lon
            distance
            dominantTerrain
          }
        }
      `,
      { lat, lon },
    );
    renderSimilar(similarPlaces);
  });
}

function renderLandscape(lat, lon, l) {
  const card = $("#landscape-card");
  $(".where", card).textContent = `${fmtPoint(lat, lon)} · tile ${l.tile.z}/${l.tile.x}/${l.tile.y} (zoom ${l.tile.z})`;
  $(".generated", card).src = l.image.url;
  $(".satellite", card).src = `/tiles/satellite/${l.tile.z}/${l.tile.x}/${l.tile.y}${l.imageryDate ? `?date=${l.imageryDate}` : ""}`;
  $(".bars", card).replaceChildren(
    ...l.terrain.map((s) =>
      el(
        "li",
        { dataset: { terrain: s.terrain } },
        el("span", { textContent: s.terrain.toLowerCase() }),
        el("span", { className: "bar", style: `width:${Math.max(1, s.probability * 100)}%;background:${TERRAIN_COLOURS[s.terrain]}` }),
        el("span", { className: "value", textContent: pct(s.probability) }),
      ),
    ),
  );
  $(".similar", card).replaceChildren(el("li", { textContent: "…" }));
  $(".meta", card).textContent =
    `model ${l.modelVersion}${l.imageryDate ? ` · imagery of ${l.imageryDate}` : ""}${l.cached ? " · from the cache" : " · computed now"}`;
  reveal(card);
}

function renderSimilar(places) {
  const list = $("#landscape-card .similar");
  if (!places.length) {
    list.replaceChildren(el("li", { textContent: "none analysed yet", style: "cursor:default;color:inherit" }));
    return;
  }
  list.replaceChildren(
    ...places.map((p) => {
      const li = el("li", {
        textContent: `${p.dominantTerrain.toLowerCase()} at ${fmtPoint(p.lat, p.lon)} (distance ${p.distance.toFixed(2)})`,
      });
      li.addEventListener("click", () => {
        map.flyTo({ center: [p.lon, p.lat], zoom: Math.max(map.getZoom(), 15) });
        showLandscape(p.lat, p.lon);
      });
      return li;
    }),
  );
}

// ---------------------------------------------------------------- terrain vector tiles

const terrainButton = $("#terrain-layer");
terrainButton.addEventListener("click", () => {
  const on = terrainButton.getAttribute("aria-pressed") !== "true";
  terrainButton.setAttribute("aria-pressed", String(on));
  map.setLayoutProperty("terrain-tiles-fill", "visibility", on ? "visible" : "none");
});

// ---------------------------------------------------------------- box → terrainFilter

let drawing = false;
let boxStart;
const drawButton = $("#draw-box");
drawButton.addEventListener("click", () => setDrawing(!drawing));

function setDrawing(on) {
  drawing = on;
  drawButton.setAttribute("aria-pressed", String(on));
  $("#map").classList.toggle("drawing", on);
  if (on) map.dragPan.disable();
  else map.dragPan.enable();
}

map.on("mousedown", (e) => {
  if (!drawing) return;
  e.preventDefault();
  boxStart = e.lngLat;
});
map.on("mousemove", (e) => {
  if (!drawing || !boxStart) return;
  map.getSource("box").setData(boxPolygon(bboxOf(boxStart, e.lngLat)));
});
map.on("mouseup", (e) => {
  if (!drawing || !boxStart) return;
  const bbox = bboxOf(boxStart, e.lngLat);
  boxStart = undefined;
  setDrawing(false);
  suppressClick = true;
  if (bbox[2] - bbox[0] < 1e-6 || bbox[3] - bbox[1] < 1e-6) return;
  map.getSource("box").setData(boxPolygon(bbox));
  if (comparing) changeBox(bbox);
  else filterBox(bbox);
});
const bboxOf = (a, b) => [Math.min(a.lng, b.lng), Math.min(a.lat, b.lat), Math.max(a.lng, b.lng), Math.max(a.lat, b.lat)];

/** Every matching area in the box, following the connection's pages. */
async function filterBox([west, south, east, north]) {
  return busy(async () => {
    const features = [];
    let after = null;
    let page;
    do {
      ({ terrainFilter: page } = await graphql(
        `
          query Filter($bbox: BBoxInput!, $terrain: [Terrain!]!, $after: String, $date: String) {
            terrainFilter(bbox: $bbox, terrain: $terrain, first: 200, after: $after, date: $date) {
              totalCount
              zoom
              tilesAnalysed
              tilesComputed
              featureCollection
              pageInfo {
                hasNextPage
                endCursor
              }
            }
          }
        `,
        { bbox: { west, south, east, north }, terrain: TERRAINS, after, date: currentDate() },
      ));
      features.push(...page.featureCollection.features);
      after = page.pageInfo.endCursor;
    } while (page.pageInfo.hasNextPage);
    // GeoJSON properties name terrains by their class ("water"); the page uses the enum's names.
    for (const f of features) f.properties.terrain = f.properties.terrain.toUpperCase();
    const fc = { type: "FeatureCollection", features };
    map.getSource("terrain").setData(fc);
    renderFilter(fc, page);
  });
}

function renderFilter(fc, page) {
  const card = $("#filter-card");
  const ha = (f) => f.properties.areaSqm / 1e4;
  $(".summary", card).textContent =
    `${fc.features.length} area${fc.features.length === 1 ? "" : "s"} at zoom ${page.zoom} · ${page.tilesAnalysed} tiles analysed (${page.tilesComputed} computed now)`;
  const present = TERRAINS.filter((t) => fc.features.some((f) => f.properties.terrain === t));
  $(".legend", card).replaceChildren(
    ...present.map((t) => {
      const total = fc.features.filter((f) => f.properties.terrain === t).reduce((s, f) => s + ha(f), 0);
      return el("li", {}, el("span", { style: `background:${TERRAIN_COLOURS[t]}` }), `${t.toLowerCase()} ${total.toFixed(1)} ha`);
    }),
  );
  $("tbody", card).replaceChildren(
    ...fc.features.map((f) => {
      const tr = el(
        "tr",
        {},
        el(
          "td",
          {},
          el("span", { className: "swatch", style: `background:${TERRAIN_COLOURS[f.properties.terrain]}` }),
          f.properties.terrain.toLowerCase(),
        ),
        el("td", { className: "num", textContent: ha(f).toFixed(2) }),
        el("td", { className: "num", textContent: pct(f.properties.meanConfidence) }),
      );
      tr.addEventListener("click", () => map.fitBounds(bboxOfGeometry(f.geometry), { padding: 40, maxZoom: 17 }));
      return tr;
    }),
  );
  const link = $(".download", card);
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([JSON.stringify(fc)], { type: "application/geo+json" }));
  reveal(card);
}

function bboxOfGeometry(g) {
  const pts = (g.type === "Polygon" ? [g.coordinates] : g.coordinates).flat(2);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return [
    [Math.min(...xs), Math.min(...ys)],
    [Math.max(...xs), Math.max(...ys)],
  ];
}

// ---------------------------------------------------------------- dates: picker, swipe, terrainChange

/** The date the map, landscapes and terrain use: the picker's, or when comparing the "after" date; null: the latest. */
const currentDate = () => (comparing ? $("#after-date").value : imageryDate) || null;
const option = (value, text = value) => el("option", { value, textContent: text });

if (DATES.length) {
  $("#date-picker").append(...DATES.map((d) => option(d)));
  $("#date-control").hidden = false;
}
if (DATES.length >= 2) {
  $("#before-date").append(...DATES.map((d) => option(d)));
  $("#after-date").append(...DATES.map((d) => option(d)));
  $("#before-date").value = DATES.at(-1);
  $("#after-date").value = DATES[0];
  $("#compare").hidden = false;
}
$("#date-picker").addEventListener("change", (e) => {
  imageryDate = e.target.value;
  map.getSource("satellite").setTiles(tilesFor(imageryDate));
});

let comparing = false;
let beforeMap;
const compareButton = $("#compare");
compareButton.addEventListener("click", () => setComparing(!comparing));

function setComparing(on) {
  comparing = on;
  compareButton.setAttribute("aria-pressed", String(on));
  for (const id of ["#map-before", "#swipe-line", "#compare-bar"]) $(id).hidden = !on;
  $("#date-picker").disabled = on;
  $("#hint").textContent = on
    ? "Swipe to compare the dates; draw a box to see what changed."
    : "Click the map for the landscape a person would see there.";
  map.getSource("satellite").setTiles(tilesFor(on ? $("#after-date").value : imageryDate));
  if (!on) {
    setChange({ type: "FeatureCollection", features: [] });
    return;
  }
  if (!beforeMap) {
    // The earlier date in a second map over the first, clipped to the left of the swipe line and
    // moved with it; it takes no input (the map below does).
    beforeMap = new maplibregl.Map({
      container: "map-before",
      style: {
        version: 8,
        sources: {
          satellite: { type: "raster", tiles: tilesFor($("#before-date").value), tileSize: 256, maxzoom: tileJson.maxzoom ?? 19 },
          change: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
        },
        layers: [{ id: "satellite", type: "raster", source: "satellite" }, ...CHANGE_LAYERS],
      },
      center: map.getCenter(),
      zoom: map.getZoom(),
      interactive: false,
      attributionControl: false,
    });
    map.on("move", syncBefore);
    window.groundview.beforeMap = beforeMap;
  }
  syncBefore();
  swipe();
}

function syncBefore() {
  beforeMap?.jumpTo({ center: map.getCenter(), zoom: map.getZoom(), bearing: map.getBearing(), pitch: map.getPitch() });
}

/** The swipe: the earlier date shows left of the line, the later one right of it. */
function swipe() {
  const v = Number($("#swipe").value);
  $("#map-before").style.clipPath = `inset(0 ${100 - v}% 0 0)`;
  $("#swipe-line").style.left = `${($("#map").clientWidth * v) / 100}px`;
}
$("#swipe").addEventListener("input", swipe);
window.addEventListener("resize", () => comparing && swipe());
$("#before-date").addEventListener("change", (e) => beforeMap?.getSource("satellite").setTiles(tilesFor(e.target.value)));
$("#after-date").addEventListener("change", (e) => map.getSource("satellite").setTiles(tilesFor(e.target.value)));

function setChange(fc) {
  map.getSource("change").setData(fc);
  beforeMap?.getSource("change").setData(fc);
}

/** terrainChange between the two dates in a drawn box. */
async function changeBox([west, south, east, north]) {
  return busy(async () => {
    const from = $("#before-date").value;
    const to = $("#after-date").value;
    const { terrainChange: c } = await graphql(
      `
        query Change($bbox: BBoxInput!, $from: String!, $to: String!) {
          terrainChange(bbox: $bbox, from: $from, to: $to, first: 1000) {
            totalCount
            zoom
            method
            comparedSqm
            changedSqm
            tilesCompared
            tilesComputed
            summary {
              fromTerrain
              toTerrain
              areaSqm
              areas
            }
            featureCollection
          }
        }
      `,
      { bbox: { west, south, east, north }, from, to },
    );
    // GeoJSON properties name terrains by their class ("water"); the page uses the enum's names.
    for (const f of c.featureCollection.features) {
      f.properties.fromTerrain = f.properties.fromTerrain.toUpperCase();
      f.properties.toTerrain = f.properties.toTerrain.toUpperCase();
    }
    setChange(c.featureCollection);
    renderChange(c, from, to);
  });
}

function renderChange(c, from, to) {
  const card = $("#change-card");
  const ha = (sqm) => (sqm / 1e4).toFixed(2);
  $(".summary", card).textContent =
    `${from} → ${to}: ${ha(c.changedSqm)} of ${ha(c.comparedSqm)} ha changed (${c.totalCount} area${c.totalCount === 1 ? "" : "s"}) · ` +
    `zoom ${c.zoom} · ${c.tilesCompared} tiles compared (${c.tilesComputed} computed now) · ${c.method}`;
  $("tbody", card).replaceChildren(
    ...c.summary.map((t) =>
      el(
        "tr",
        { dataset: { transition: `${t.fromTerrain}>${t.toTerrain}` } },
        el(
          "td",
          {},
          el("span", {
            className: "transition-swatch",
            style: `background:${TERRAIN_COLOURS[t.toTerrain]};border-color:${TERRAIN_COLOURS[t.fromTerrain]}`,
          }),
          `${t.fromTerrain.toLowerCase()} → ${t.toTerrain.toLowerCase()}`,
        ),
        el("td", { className: "num", textContent: ha(t.areaSqm) }),
        el("td", { className: "num", textContent: String(t.areas) }),
      ),
    ),
  );
  const link = $(".download", card);
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([JSON.stringify(c.featureCollection)], { type: "application/geo+json" }));
  reveal(card);
}

// ---------------------------------------------------------------- photo → validatePhoto

let pendingPhoto; // a photo without GPS, waiting for a click
let suppressClick = false;

map.on("click", (e) => {
  if (suppressClick || drawing) {
    suppressClick = false;
    return;
  }
  showLandscape(e.lngLat.lat, e.lngLat.lng);
});

$("#photo-input").addEventListener("change", (e) => {
  const file = e.target.files?.[0];
  e.target.value = "";
  if (file) takePhoto(file);
});
const mapBox = $("#map");
mapBox.addEventListener("dragover", (e) => {
  e.preventDefault();
  mapBox.classList.add("dropping");
});
mapBox.addEventListener("dragleave", () => mapBox.classList.remove("dropping"));
mapBox.addEventListener("drop", (e) => {
  e.preventDefault();
  mapBox.classList.remove("dropping");
  const file = e.dataTransfer?.files?.[0];
  if (file) takePhoto(file);
});

async function takePhoto(file) {
  const card = $("#photo-card");
  const img = $(".photo", card);
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  reveal(card);
  const gps = readExifGps(await file.arrayBuffer());
  if (gps) {
    map.flyTo({ center: [gps.lon, gps.lat], zoom: Math.max(map.getZoom(), 15) });
    marker.setLngLat([gps.lon, gps.lat]).addTo(map);
    return checkPhoto(file, gps.lat, gps.lon, "its GPS position");
  }
  if (lastPoint) return checkPhoto(file, lastPoint.lat, lastPoint.lon, "the last clicked point");
  pendingPhoto = file;
  $(".verdict", card).textContent = "The photo has no GPS position: click the map where it was taken.";
  $(".verdict", card).className = "verdict";
  $(".score", card).textContent = "";
  $(".explanation", card).textContent = "";
}

async function checkPhoto(file, lat, lon, where) {
  const card = $("#photo-card");
  return busy(async () => {
    const form = new FormData();
    form.append(
      "operations",
      JSON.stringify({
        query: `mutation Check($lat: Float!, $lon: Float!, $photo: Upload!) {
          validatePhoto(lat: $lat, lon: $lon, photo: $photo) {
            score verdict explanation exifDistanceM
            photoTerrain { terrain probability }
            expectedGroundTerrain { terrain probability }
          }
        }`,
        variables: { lat, lon, photo: null },
      }),
    );
    form.append("map", JSON.stringify({ 0: ["variables.photo"] }));
    form.append("0", file, file.name || "photo.jpg");
    // The header tells Apollo's CSRF protection that this multipart POST is not a simple form post.
    const res = await fetch("/graphql", { method: "POST", headers: { "apollo-require-preflight": "true" }, body: form });
    const { validatePhoto: v } = await readGraphQL(res);
    const verdict = $(".verdict", card);
    verdict.textContent = `${v.verdict.toLowerCase()} — checked at ${where} (${fmtPoint(lat, lon)})`;
    verdict.className = `verdict ${v.verdict}`;
    $(".score", card).textContent =
      `score ${v.score.toFixed(2)}` + (v.exifDistanceM != null ? ` · EXIF position ${Math.round(v.exifDistanceM)} m from the point` : "");
    $(".explanation", card).textContent = v.explanation;
  });
}

// For tests and for poking at the page from the console.
window.groundview = { map, ready: new Promise((resolve) => map.once("idle", resolve)) };
