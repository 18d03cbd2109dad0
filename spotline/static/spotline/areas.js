/* Alert areas in the console: the areas already defined, outlined on the map, and a new
 * outline drawn by clicking its corners, which fills the GeoJSON box of the form (the
 * server checks it, as it checks one pasted). Without scripts the box is typed in. */
(function () {
  "use strict";
  var el = document.getElementById("area-map");
  if (!el || !window.L) return;
  var target = document.getElementById(el.getAttribute("data-target"));
  var undo = document.getElementById("area-undo");
  var clear = document.getElementById("area-clear");
  var said = document.getElementById("area-drawn");
  var c = (el.getAttribute("data-centre") || "0,0").split(",").map(parseFloat);
  var map = L.map(el, {keyboard: true}).setView(c, 12);
  L.tileLayer(el.getAttribute("data-tiles"), {maxZoom: 19, attribution: el.getAttribute("data-attribution")}).addTo(map);
  el.spotlineMap = map;  // for the browser tests, as the console's own map

  // The areas there are (read-only outlines with their names).
  var shapes = [];
  try { shapes = JSON.parse(document.getElementById("area-shapes").textContent); } catch (e) { shapes = []; }
  var existing = L.featureGroup().addTo(map);
  shapes.forEach(function (s) {
    var tip = document.createElement("span"); tip.textContent = s.name;  // text, never HTML
    L.geoJSON(s.geometry, {style: {color: "#0b4f9c", weight: 2, fillOpacity: 0.08}}).bindTooltip(tip).addTo(existing);
  });
  if (shapes.length) map.fitBounds(existing.getBounds(), {padding: [20, 20], maxZoom: 14});

  // The outline being drawn: [lat, lng] corners in the order clicked.
  var corners = [];
  var drawn = L.layerGroup().addTo(map);
  function fixed(n) { return Math.round(n * 1e6) / 1e6; }
  function show() {
    drawn.clearLayers();
    corners.forEach(function (p) { L.circleMarker(p, {radius: 4, color: "#a1001c"}).addTo(drawn); });
    if (corners.length >= 3) L.polygon(corners, {color: "#a1001c", weight: 2, fillOpacity: 0.15}).addTo(drawn);
    else if (corners.length === 2) L.polyline(corners, {color: "#a1001c"}).addTo(drawn);
    if (undo) undo.hidden = corners.length === 0;
    if (clear) clear.hidden = corners.length === 0;
    if (said) said.textContent = corners.length ? (said.getAttribute("data-words") || "%(n)s").replace("%(n)s", corners.length) : "";
    if (!target) return;
    if (corners.length < 3) { target.value = ""; return; }
    // GeoJSON: [longitude, latitude], the ring closed on its first corner.
    var ring = corners.map(function (p) { return [fixed(p[1]), fixed(p[0])]; });
    ring.push(ring[0]);
    target.value = JSON.stringify({type: "Polygon", coordinates: [ring]});
  }
  map.on("click", function (e) { corners.push([e.latlng.lat, e.latlng.lng]); show(); });
  if (undo) undo.addEventListener("click", function () { corners.pop(); show(); });
  if (clear) clear.addEventListener("click", function () { corners = []; show(); });
})();
