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
        if (res[0]) { var t = form.querySelector("textarea"); if (t) t.value = ""; }
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
    drawMarkers(true);
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
