/* Help page extras, all optional: the form works without any of this.
 * "Use my location" fills the hidden lat/lon from the phone's GPS, then loads Leaflet
 * (only then, to keep the first load small) and shows a pin the person can drag. */
(function () {
  "use strict";
  /* Sent once: the form carries a key (intake/submissions.py), and the same key sent
   * again shows the first request instead of opening a second. After Back, the browser
   * fetches the page again and the server gives it a new key: put back the key of the
   * form this tab sent, so Back then Send lands on the first request's page. Any other
   * visit (a link, a reload) keeps the new key: asking again on purpose always works. */
  var form = document.getElementById("help-form");
  var key = document.getElementById("id_submission");
  if (form && key) {
    var STORE = "spotline-help-sent";
    var nav = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation")[0] : null;
    try {
      var sent = sessionStorage.getItem(STORE);
      if (sent && nav && nav.type === "back_forward") key.value = sent;
      form.addEventListener("submit", function () {
        try { sessionStorage.setItem(STORE, key.value); } catch (e) { /* private mode */ }
      });
    } catch (e) { /* storage refused: the form still works, without this */ }
  }
  /* Place suggestions as the person types: names only (the server sends no
   * coordinates); a tap fills the text, which the server looks up again at send. */
  var where = document.getElementById("id_where");
  var list = document.getElementById("where-suggestions");
  if (where && list && window.fetch) {
    var timer = null, asked = "";
    var show = function (names) {
      list.textContent = "";
      names.forEach(function (name) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button"; b.className = "suggestion"; b.textContent = name;
        b.addEventListener("click", function () {
          where.value = name; list.hidden = true; list.textContent = ""; where.focus();
        });
        li.appendChild(b); list.appendChild(li);
      });
      list.hidden = names.length === 0;
    };
    where.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = where.value.trim();
        if (q.length < 3) return show([]);
        if (q === asked) return;
        asked = q;
        fetch(list.getAttribute("data-url") + "?q=" + encodeURIComponent(q),
              {headers: {"Accept": "application/json"}, credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {names: []}; })
          .then(function (data) { if (asked === q) show(data.names || []); })
          .catch(function () { show([]); });
      }, 250);
    });
  }
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
