/* Dispatcher console: map, keyboard shortcuts, forms without reloads, an audible
 * alarm when an incident turns urgent (mutable), all on top of live.js. */
(function () {
  "use strict";
  var toast = document.getElementById("toast");
  function say(text) { if (toast) toast.textContent = text; }
  // Words in the page's language (live.js reads them from the page).
  function t(key, fallback, values) { return window.spotlineWords ? window.spotlineWords(key, fallback, values) : fallback; }

  // -- forms without reloads -------------------------------------------------------
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-ajax")) return;
    e.preventDefault();
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                        headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (res) {
        say(res[1].detail || (res[0] ? t("done", "Done.") : t("failed", "That did not work.")));
        // (Not named t: a var t here would hide the words function above, undefined.)
        if (res[0]) { var box = form.querySelector("textarea"); if (box) box.value = ""; }
        if (res[0]) form.dispatchEvent(new CustomEvent("console:done", {bubbles: true}));
        if (window.spotlineRefresh) window.spotlineRefresh();
      })
      .catch(function () { say(t("unreachable", "Could not reach the server: try again.")); });
  });

  // -- sound ---------------------------------------------------------------------------
  var muteButton = document.getElementById("mute");
  var muted = localStorage.getItem("spotline-muted") === "1";
  function showMute() {
    if (!muteButton) return;
    muteButton.setAttribute("aria-pressed", muted ? "true" : "false");
    muteButton.textContent = (muted ? t("sound_off", "Sound off") : t("sound_on", "Sound on")) + " ";
    var key = document.createElement("kbd"); key.textContent = "m"; muteButton.appendChild(key);
  }
  function toggleMute() { muted = !muted; localStorage.setItem("spotline-muted", muted ? "1" : "0"); showMute(); }
  if (muteButton) muteButton.addEventListener("click", toggleMute);
  showMute();
  var audio = null;
  function beep() {
    if (muted) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.35].forEach(function (at) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = 880; g.gain.value = 0.2;
        o.connect(g); g.connect(audio.destination);
        o.start(audio.currentTime + at); o.stop(audio.currentTime + at + 0.2);
      });
    } catch (err) { /* no audio: the visual flag is still there */ }
  }
  var urgentSeen = {};
  function checkUrgent(initial) {
    document.querySelectorAll("#queue tr.urgent").forEach(function (row) {
      var id = row.getAttribute("data-incident");
      if (!urgentSeen[id] && !initial) beep();
      urgentSeen[id] = true;
    });
  }
  checkUrgent(true);

  // -- map -------------------------------------------------------------------------------
  var mapEl = document.getElementById("console-map");
  var map = null, layer = null;
  function initMap() {
    if (!mapEl || !window.L) return;
    var c = (mapEl.getAttribute("data-centre") || "0,0").split(",").map(parseFloat);
    map = L.map(mapEl, {keyboard: true}).setView(c, 14);
    L.tileLayer(mapEl.getAttribute("data-tiles"), {maxZoom: 19, attribution: mapEl.getAttribute("data-attribution")}).addTo(map);
    layer = L.layerGroup().addTo(map);
    // The map on its element, for the browser tests to find a place's pixel (a click
    // at a real address), not a global.
    mapEl.spotlineMap = map;
    drawMarkers(true);
    if (mapEl.hasAttribute("data-pick")) map.on("click", function (e) { pick(e.latlng); });
  }
  function drawMarkers(fit) {
    if (!map) return;
    layer.clearLayers();
    var points = [];
    document.querySelectorAll("[data-incident][data-lat], #where[data-lat]").forEach(function (el) {
      var p = [parseFloat(el.getAttribute("data-lat")), parseFloat(el.getAttribute("data-lon"))];
      var label = el.id === "where" ? t("incident", "Incident") : t("incident_n", "Incident %(n)s (%(priority)s)", {n: el.getAttribute("data-incident"), priority: el.getAttribute("data-priority")});
      var m = L.marker(p, {title: label, alt: label}).addTo(layer);
      m.getElement() && m.getElement().classList.add("incident-marker");
      // An approximate place (found from words): the circle it may be anywhere in.
      var radius = parseFloat(el.getAttribute("data-radius"));
      if (radius > 0) L.circle(p, {radius: radius, color: "#a1001c", weight: 2, dashArray: "6 4", fillOpacity: 0.08, className: "approx-circle"}).addTo(layer);
      points.push(p);
    });
    document.querySelectorAll("[data-responder][data-lat]").forEach(function (el) {
      var p = [parseFloat(el.getAttribute("data-lat")), parseFloat(el.getAttribute("data-lon"))];
      // A tooltip given a string takes it as HTML: an alias is text.
      var tip = document.createElement("span");
      tip.textContent = t("responder_marker", "%(name)s (responder)", {name: el.getAttribute("data-alias")});
      var m = L.circleMarker(p, {radius: 7, color: "#0b4f9c", weight: 2, fillOpacity: 0.8}).bindTooltip(tip).addTo(layer);
      if (m.getElement()) m.getElement().classList.add("responder-marker");
      points.push(p);
    });
    if (fit && points.length) map.fitBounds(points, {padding: [30, 30], maxZoom: 16});
  }
  window.addEventListener("load", initMap);

  // -- setting the place: a click on the map, or a place found from words ---------------
  // data-pick names what a click fills: the incident's confirm form ("map-pick"), or the
  // caller form's hidden fields on a new incident ("caller-form"). Never typed numbers.
  var proposal = null;
  function propose(latlng, radius) {
    if (!map) return;
    if (proposal) proposal.clearLayers(); else proposal = L.layerGroup().addTo(map);
    var label = t("place_proposed", "Proposed place");
    var m = L.marker(latlng, {title: label, alt: label}).addTo(proposal);
    if (m.getElement()) m.getElement().classList.add("proposed-marker");
    if (radius > 0) L.circle(latlng, {radius: radius, color: "#a1001c", weight: 2, dashArray: "6 4", fillOpacity: 0.08}).addTo(proposal);
    map.panTo(latlng);
  }
  function unpropose() { if (proposal) proposal.clearLayers(); }
  function fixed(n) { return (Math.round(n * 1e6) / 1e6).toFixed(6); }
  function setField(form, name, value) { var el = form.elements[name]; if (el) el.value = value; }
  function fill(form, lat, lon, how, radius, text) {
    setField(form, "lat", fixed(lat)); setField(form, "lon", fixed(lon));
    setField(form, "located_by", how); setField(form, "radius_m", radius > 0 ? String(radius) : "");
    // A place chosen here replaces a candidate ticked in a list the server sent.
    form.querySelectorAll("input[name=candidate]").forEach(function (r) { r.checked = false; });
    var chosen = document.getElementById("place-chosen"); if (chosen) chosen.textContent = text;
  }
  function pick(latlng) {
    var target = document.getElementById(mapEl.getAttribute("data-pick"));
    if (!target) return;
    propose(latlng, 0);
    if (target.id === "map-pick") {
      document.getElementById("map-pick-lat").value = fixed(latlng.lat);
      document.getElementById("map-pick-lon").value = fixed(latlng.lng);
      target.hidden = false;
      document.getElementById("map-pick-confirm").focus();
    } else {
      fill(target, latlng.lat, latlng.lng, "map", 0, t("place_chosen_map", "Place: picked on the map."));
    }
  }
  var pickForm = document.getElementById("map-pick");
  if (pickForm) {
    document.getElementById("map-pick-cancel").addEventListener("click", function () { pickForm.hidden = true; unpropose(); });
    pickForm.addEventListener("console:done", function () { pickForm.hidden = true; unpropose(); });
  }
  document.addEventListener("console:done", function (e) {
    // A place put from the search list: the list has done its job.
    var results = e.target.closest && e.target.closest("#place-results");
    if (results) { results.textContent = ""; unpropose(); }
  });

  function within(radius) { return t("place_within", "within %(m)s m", {m: Math.round(radius)}); }
  function hidden(name, value) {
    var el = document.createElement("input"); el.type = "hidden"; el.name = name; el.value = value; return el;
  }
  function candidateItem(c, results) {
    var li = document.createElement("li");
    var name = document.createElement("span"); name.className = "candidate-name"; name.textContent = c.name;
    var about = document.createElement("span"); about.className = "muted";
    about.textContent = " (" + t("place_kind_" + c.kind, c.kind) + ", " + within(c.radius_m) + ") ";
    var button = document.createElement("button"); button.textContent = t("place_put", "Put it here");
    var action = results.getAttribute("data-place-action");
    if (action) {
      // The incident's page: the same form the server lists, sent without a reload.
      var form = document.createElement("form");
      form.method = "post"; form.action = action; form.setAttribute("data-ajax", "");
      var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
      if (csrf) form.appendChild(hidden("csrfmiddlewaretoken", csrf.value));
      [["how", "words"], ["lat", fixed(c.lat)], ["lon", fixed(c.lon)], ["radius_m", String(c.radius_m)]]
        .forEach(function (kv) { form.appendChild(hidden(kv[0], kv[1])); });
      button.type = "submit";
      form.appendChild(name); form.appendChild(about); form.appendChild(button);
      form.addEventListener("focusin", function () { propose([c.lat, c.lon], c.radius_m); });
      li.appendChild(form);
    } else {
      // A new incident: the caller form's hidden fields, sent with it.
      button.type = "button";
      button.addEventListener("click", function () {
        var form = document.getElementById(results.getAttribute("data-fill-form"));
        propose([c.lat, c.lon], c.radius_m);
        fill(form, c.lat, c.lon, "words", c.radius_m, t("place_chosen", "Place: %(name)s (%(within)s).", {name: c.name, within: within(c.radius_m)}));
      });
      li.appendChild(name); li.appendChild(about); li.appendChild(button);
    }
    return li;
  }
  document.querySelectorAll("input[data-place-search]").forEach(function (input) {
    var results = document.getElementById(input.getAttribute("data-results"));
    if (!results) return;
    if (input.hasAttribute("data-fill")) results.setAttribute("data-fill-form", input.getAttribute("data-fill"));
    var timer = null, asked = 0;
    function search() {
      var q = input.value.trim(), mine = ++asked;
      if (!q) { results.textContent = ""; return; }
      fetch("/api/v1/places/search?q=" + encodeURIComponent(q), {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (found) {
          if (mine !== asked) return;  // an answer to older words: a newer one is coming
          results.textContent = "";
          if (!found.length) { var p = document.createElement("p"); p.textContent = t("place_none", "Nothing found for those words: try a street and number, a street corner, or click the map."); results.appendChild(p); return; }
          var ul = document.createElement("ul"); ul.className = "candidates";
          found.forEach(function (c) { ul.appendChild(candidateItem(c, results)); });
          results.appendChild(ul);
        })
        .catch(function () { if (mine === asked) say(t("unreachable", "Could not reach the server: try again.")); });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 250); });
  });
  document.addEventListener("live:updated", function () { drawMarkers(false); checkUrgent(false); });

  // -- keyboard --------------------------------------------------------------------------
  var selected = -1;
  var selectedId = null;  // the incident, not the row: a live update re-renders the queue
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr")); }
  function mark(all, focusLink) {
    all.forEach(function (r, j) { r.classList.toggle("selected", j === selected); r.setAttribute("aria-selected", j === selected ? "true" : "false"); });
    var link = selected >= 0 ? all[selected].querySelector("a") : null;
    if (link && focusLink) link.focus();
  }
  function select(i) {
    var all = rows(); if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, i));
    selectedId = all[selected].getAttribute("data-incident");
    mark(all, true);
  }
  // After a live update the same incident stays selected (wherever it moved in the
  // queue), and keeps the focus if the update took it away with the old row.
  document.addEventListener("live:updated", function () {
    if (selectedId === null) return;
    var all = rows();
    selected = all.findIndex(function (r) { return r.getAttribute("data-incident") === selectedId; });
    if (selected < 0) { selectedId = null; return; }
    mark(all, document.activeElement === document.body);
  });
  function focus(id) { var el = document.getElementById(id); if (el) { el.focus(); return true; } return false; }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && t.matches && t.matches("input,textarea,select")) { if (e.key === "Escape") t.blur(); return; }
    switch (e.key) {
      case "j": select(selected + 1); break;
      case "k": select(selected - 1); break;
      case "Enter": { var r = rows()[selected]; if (r && document.activeElement === document.body) location.href = r.getAttribute("data-href"); return; }
      case "n": location.href = "/console/new/"; break;
      case "m": toggleMute(); break;
      case "a": if (!focus("responder_id")) return; break;
      case "e": if (!focus("to")) return; break;
      case "t": if (!focus("note-text")) return; break;
      case "w": { var w = document.getElementById("widen"); if (!w) return; w.click(); break; }
      case "Escape": if (location.pathname !== "/console/") location.href = "/console/"; break;
      default: return;
    }
    e.preventDefault();
  });
})();
