/* Help page extras, all optional: the form works without any of this.
 * "Use my location" fills the hidden lat/lon from the phone's GPS, then loads Leaflet
 * (only then, to keep the first load small) and shows a pin the person can drag. */
(function () {
  "use strict";
  var geo = document.getElementById("geo");
  if (!geo || !("geolocation" in navigator)) return;
  geo.hidden = false;
  var button = document.getElementById("use-location");
  var status = document.getElementById("geo-status");
  var mapEl = document.getElementById("help-map");
  var lat = document.getElementById("id_lat"), lon = document.getElementById("id_lon");
  var lang = document.documentElement.lang;
  var T = lang === "es"
    ? {finding: "Buscando su ubicación…", found: "Ubicación encontrada. Puede mover el marcador.", failed: "No pudimos obtener su ubicación. Escriba dónde está."}
    : {finding: "Finding your location…", found: "Location found. You can drag the pin.", failed: "We could not get your location. Please type where you are."};

  function set(p) { lat.value = p[0].toFixed(6); lon.value = p[1].toFixed(6); }

  function loadLeaflet(done) {
    if (window.L) return done();
    var css = document.createElement("link");
    css.rel = "stylesheet"; css.href = mapEl.getAttribute("data-leaflet-css");
    document.head.appendChild(css);
    var s = document.createElement("script");
    s.src = mapEl.getAttribute("data-leaflet-js"); s.onload = done;
    document.head.appendChild(s);
  }

  function showMap(p) {
    loadLeaflet(function () {
      mapEl.hidden = false;
      var map = L.map(mapEl).setView(p, 17);
      L.tileLayer(mapEl.getAttribute("data-tiles"), {maxZoom: 19, attribution: mapEl.getAttribute("data-attribution")}).addTo(map);
      var pin = L.marker(p, {draggable: true, keyboard: true, title: "pin"}).addTo(map);
      pin.on("dragend", function () { var q = pin.getLatLng(); set([q.lat, q.lng]); });
    });
  }

  button.addEventListener("click", function () {
    status.textContent = T.finding;
    navigator.geolocation.getCurrentPosition(function (pos) {
      var p = [pos.coords.latitude, pos.coords.longitude];
      set(p); status.textContent = T.found; showMap(p);
    }, function () { status.textContent = T.failed; }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
})();
