/* Responder app: forms without reloads, an offer that demands attention, location
 * shared only while on shift, and the offline shell (service worker). */
(function () {
  "use strict";
  var toast = document.getElementById("toast");
  function say(t) { if (toast) toast.textContent = t; }
  // Words in the page's language (live.js, from dispatch/words.py::ui_strings).
  function w(key, fallback, values) { return window.spotlineWords ? window.spotlineWords(key, fallback, values) : fallback; }
  var TITLE = document.title;
  function csrf() { var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/); return m ? m[1] : ""; }

  var swReady = null;
  if ("serviceWorker" in navigator) {
    swReady = navigator.serviceWorker.register("/responder/sw.js", {scope: "/responder/"}).catch(function () { return null; });
  }

  // -- offers by Web Push, with the app closed ------------------------------------------------
  // Subscribes when notifications are allowed (asked on "Go on shift", a user gesture) and
  // tells the server; any failure leaves SMS as the way offers arrive.
  function b64(buf) {
    var s = String.fromCharCode.apply(null, new Uint8Array(buf));
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64(t) {
    var s = atob(t.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((t.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function subscribePush() {
    if (!swReady || !("PushManager" in window)) return;
    var key;
    fetch("/api/v1/me/push/key", {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error("no push"); return r.json(); })
      .then(function (b) { key = b.public_key; return swReady; })
      .then(function (reg) {
        if (!reg) throw new Error("no service worker");
        return navigator.serviceWorker.ready.then(function (r) { return r.pushManager.getSubscription(); })
          .then(function (sub) {
            // A subscription made with another server key (rotated) would never deliver.
            if (sub && sub.options && sub.options.applicationServerKey && b64(sub.options.applicationServerKey) !== key) {
              return sub.unsubscribe().then(function () { return null; });
            }
            return sub;
          })
          .then(function (sub) {
            return sub || reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: unb64(key)});
          });
      })
      .then(function (sub) {
        return fetch("/api/v1/me/push", {method: "PUT", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
          body: JSON.stringify(sub)});
      })
      .catch(function () {});
  }
  function enablePush(ask) {
    if (!("Notification" in window)) return;
    if (Notification.permission === "granted") { subscribePush(); return; }
    if (ask && Notification.permission === "default") {
      var answered = false;
      var answer = function (p) { if (!answered && p === "granted") { answered = true; subscribePush(); } };
      try {
        var asked = Notification.requestPermission(answer);  // old Safari: callback only
        if (asked && asked.then) asked.then(answer).catch(function () {});
      } catch (e) { /* SMS still works */ }
    }
  }
  enablePush(false);

  function post(form, extra) {
    var data = new FormData(form);
    if (extra) Object.keys(extra).forEach(function (k) { data.set(k, extra[k]); });
    var button = document.activeElement;
    if (button && button.name && button.form === form) data.set(button.name, button.value);
    return fetch(form.action, {method: "POST", body: data, credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (res) { say(res[1].detail || ""); if (window.spotlineRefresh) window.spotlineRefresh(); syncWatch(); safetyLoad(); })
      .catch(function () { say(w("unreachable", "Could not reach the server: try again.")); });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-ajax")) return;
    e.preventDefault();
    if (form.id === "shift-form" && form.querySelector("[name=on_shift]").value === "1") enablePush(true);
    // Going on shift: include where we are, if the phone will say.
    if (form.id === "shift-form" && form.querySelector("[name=on_shift]").value === "1" && "geolocation" in navigator) {
      navigator.geolocation.getCurrentPosition(
        function (p) { post(form, {lat: p.coords.latitude, lon: p.coords.longitude}); },
        function () { post(form); }, {enableHighAccuracy: true, timeout: 8000, maximumAge: 30000});
      return;
    }
    post(form);
  });

  // -- location only while on shift ----------------------------------------------------------
  var watch = null, lastSent = 0;
  function onShift() { var s = document.getElementById("shift-state"); return s && s.getAttribute("data-on-shift") === "1"; }
  function syncWatch() {
    if (!("geolocation" in navigator)) return;
    if (onShift() && watch === null) {
      watch = navigator.geolocation.watchPosition(function (p) {
        var now = Date.now();
        if (now - lastSent < 20000) return;  // at most every 20 s: battery and data
        lastSent = now;
        fetch("/api/v1/me/location", {method: "PUT", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
          body: JSON.stringify({lat: p.coords.latitude, lon: p.coords.longitude})}).catch(function () {});
      }, function () {}, {enableHighAccuracy: true, maximumAge: 15000});
    } else if (!onShift() && watch !== null) {
      navigator.geolocation.clearWatch(watch); watch = null;
    }
  }
  syncWatch();

  // -- an offer that demands attention ----------------------------------------------------------
  var seen = {};
  var audio = null;
  function alarm() {
    if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.3, 0.6].forEach(function (at) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = 988; g.gain.value = 0.25; o.connect(g); g.connect(audio.destination);
        o.start(audio.currentTime + at); o.stop(audio.currentTime + at + 0.2);
      });
    } catch (e) { /* the red box is still there */ }
  }
  function checkOffers(initial) {
    var fresh = false;
    document.querySelectorAll("[data-offer]").forEach(function (el) {
      var id = el.getAttribute("data-offer");
      if (!seen[id]) { seen[id] = true; fresh = true; }
    });
    if (fresh && !initial) { alarm(); document.title = w("new_offer_title", "NEW OFFER · Spotline"); }
    if (!document.querySelector("[data-offer]")) document.title = safetyUrgent ? URGENT_TITLE : TITLE;
  }
  checkOffers(false);

  // -- the area of an offer, before accepting -------------------------------------------------
  // A small map that cannot be moved: the circle the server drew around the place's cell
  // (never the place). Leaflet is loaded only when an offer shows one; without it, or
  // without tiles, the card's words say it all.
  function loadLeaflet(el, done) {
    if (window.L) { done(); return; }
    if (!document.querySelector("link[data-leaflet]")) {
      var css = document.createElement("link");
      css.rel = "stylesheet"; css.href = el.getAttribute("data-leaflet-css"); css.setAttribute("data-leaflet", "");
      document.head.appendChild(css);
    }
    var s = document.createElement("script");
    s.src = el.getAttribute("data-leaflet-js"); s.onload = done;
    document.head.appendChild(s);
  }
  function offerMaps() {
    var todo = Array.prototype.filter.call(document.querySelectorAll(".offer-map"), function (el) { return !el.spotlineMap; });
    if (!todo.length) return;
    loadLeaflet(todo[0], function () {
      todo.forEach(function (el) {
        if (el.spotlineMap || !document.body.contains(el)) return;
        var figure = el.closest("figure");
        if (figure) figure.hidden = false;
        var centre = [parseFloat(el.getAttribute("data-lat")), parseFloat(el.getAttribute("data-lon"))];
        var still = {zoomControl: false, dragging: false, touchZoom: false, scrollWheelZoom: false, doubleClickZoom: false,
                     boxZoom: false, keyboard: false, tap: false};
        var map = L.map(el, still).setView(centre, 14);
        L.tileLayer(el.getAttribute("data-tiles"), {maxZoom: 17, attribution: el.getAttribute("data-attribution")}).addTo(map);
        var area = L.circle(centre, {radius: parseFloat(el.getAttribute("data-radius")), interactive: false, weight: 2}).addTo(map);
        map.fitBounds(area.getBounds(), {padding: [8, 8]});
        el.spotlineMap = map;
      });
    });
  }
  offerMaps();
  document.addEventListener("live:updated", function () { checkOffers(false); offerMaps(); syncWatch(); safetyLoad(); });

  // -- the safety timer while on scene -------------------------------------------------------
  // The server decides (asks, rings, sends backup); this panel shows the countdown and
  // takes "I'm OK". Its state comes from /api/v1/me/safety: fetched when the page changes,
  // at the moment a check falls due, and every few seconds while one is missed. The panel is
  // outside the live region, so re-rendering the incident never resets it, and it only ever
  // changes text and visibility: focus stays where it is.
  var SAFETY_URL = "/api/v1/me/safety";
  var URGENT_TITLE = w("safety_title", "ARE YOU OK? · Spotline");
  var panel = document.getElementById("safety");
  var safety = null, safetyUrgent = false, skewMs = 0, shownKey = "", lastRing = 0;
  var safetyTimer = null, ticker = null, loading = false, again = false;
  // Answers are shown in the order their requests were made: a slow read from before an
  // "I'm OK" must not bring back the alarm that the OK just silenced.
  var asked = 0, shown = 0;
  function fresh(n, body) { if (n > shown) { shown = n; safetyShow(body); } }
  function el(id) { return document.getElementById(id); }
  function token() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return csrf() || (input ? input.value : "");
  }
  function serverNow() { return Date.now() + skewMs; }
  function clock(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }
  function hhmm(iso) {
    // The wall-clock time on this phone, corrected for its clock being off.
    var d = new Date(Date.parse(iso) - skewMs);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }
  function currentIncident() {
    var h = el("current-incident");
    return h ? h.getAttribute("data-incident") : null;
  }
  function safetyLoad() {
    if (!panel) return;
    if (loading) { again = true; return; }
    loading = true;
    var n = ++asked;
    fetch(SAFETY_URL, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (r) {
        // A phone's clock can be minutes off. The Date header (whole seconds, and uvicorn's
        // is refreshed once a second) bounds the server's time now to about two seconds;
        // keep the correction we have unless it falls outside.
        var date = Date.parse(r.headers.get("Date") || "");
        if (date) skewMs = Math.min(Math.max(skewMs, date - Date.now() - 1000), date + 2000 - Date.now());
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (body) { fresh(n, body); })
      .catch(function () { /* keep counting down from what we knew; the next load retries */ })
      .then(function () {
        loading = false;
        if (again) { again = false; safetyLoad(); } else safetySchedule();
      });
  }
  function safetySchedule() {
    clearTimeout(safetyTimer);
    safetyTimer = null;
    var wait = null;
    if (safety && safety.running) {
      if (safetyUrgent) wait = 4000;  // an SMS "OK" or the escalation can come at any moment
      else {
        // Look again right when the check falls due, and now and then meanwhile.
        var due = Date.parse(safety.next_check_at) - serverNow();
        wait = Math.max(1500, Math.min(10000, due + 1500));
      }
    } else if (currentIncident()) {
      wait = 15000;  // on an incident: a dispatcher may report on scene for them
    }
    if (wait !== null) safetyTimer = setTimeout(safetyLoad, wait);
  }
  function safetyShow(body) {
    safety = body;
    var current = currentIncident();
    var backupHere = body.backup_sent && current !== null && String(body.incident_id) === current;
    var visible = body.running || backupHere;
    panel.hidden = !visible;
    if (!visible) {
      safetyUrgent = false; shownKey = ""; confirmHelp(false);
      clearInterval(ticker); ticker = null;
      if (document.title === URGENT_TITLE) document.title = TITLE;
      return;
    }
    var urgent = body.running && (body.state === "asked" || body.state === "warned");
    safetyUrgent = urgent;
    panel.classList.toggle("urgent", urgent);
    el("safety-ok-row").hidden = !body.running;
    el("safety-next").hidden = !body.running || urgent;  // the alert counts down instead
    el("safety-help-row").hidden = body.backup_sent;  // a div: a stale cached app.css cannot un-hide it
    if (body.backup_sent) confirmHelp(false);
    // The alert's words change only with the state, so a screen reader hears each once;
    // the seconds inside tick in a role=timer, which is not announced.
    var key = [body.state, body.backup_sent, body.next_check_at].join("|");
    if (key !== shownKey) {
      var alertEl = el("safety-alert");
      alertEl.textContent = "";
      if (urgent) {
        // One sentence per language, with the countdown where that language puts it.
        var words = body.backup_sent
          ? w("safety_asked_sent", "Are you OK? Backup is sent in %(left)s. Backup is on the way.")
          : w("safety_asked", "Are you OK? Backup is sent in %(left)s. Tap I'm OK.");
        var parts = words.split("%(left)s");
        alertEl.appendChild(document.createTextNode(parts[0]));
        var left = document.createElement("span");
        left.id = "safety-backup-left"; left.className = "countdown"; left.setAttribute("role", "timer");
        alertEl.appendChild(left);
        alertEl.appendChild(document.createTextNode(parts.slice(1).join("")));
      } else if (body.backup_sent) {
        alertEl.textContent = w("safety_backup_coming", "Backup is on the way.");
      }
      if (urgent && shownKey.split("|")[0] !== body.state) { lastRing = 0; }
      shownKey = key;
    }
    el("safety-at").textContent = body.next_check_at && !urgent ? w("safety_at", "(at %(time)s)", {time: hhmm(body.next_check_at)}) : "";
    keepFocus();
    safetyTick();
    if (body.running && !ticker) ticker = setInterval(safetyTick, 1000);
    if (!body.running) { clearInterval(ticker); ticker = null; }
  }
  function keepFocus() {
    // A control that just disappeared (the confirm step, once backup is sent) would drop
    // focus to the top of the page: hand it to the panel's heading instead.
    var a = document.activeElement;
    if (a && a !== document.body && panel.contains(a) && a.offsetParent === null) el("safety-title").focus();
  }
  function safetyTick() {
    if (!safety || panel.hidden) return;
    var now = serverNow();
    if (safety.running && safety.next_check_at && !safetyUrgent) {
      var due = Date.parse(safety.next_check_at) - now;
      el("safety-left").textContent = due > 0 ? clock(due) : w("safety_due", "due now");
    }
    var backupLeft = el("safety-backup-left");
    if (backupLeft && safety.backup_at) backupLeft.textContent = clock(Date.parse(safety.backup_at) - now);
    if (safetyUrgent) {
      document.title = URGENT_TITLE;
      // Ring on being asked, and again every 20 s until they answer.
      if (Date.now() - lastRing > 20000) {
        lastRing = Date.now();
        if (audio && audio.state === "suspended" && audio.resume) audio.resume();
        alarm();
      }
    } else if (document.title === URGENT_TITLE) {
      document.title = TITLE;
    }
  }
  var busy = false;
  function safetyButtons(on) {
    // Not `disabled`: that would drop the focus of the button just pressed.
    busy = on;
    panel.setAttribute("aria-busy", on ? "true" : "false");
  }
  function safetyOk(minutes) {
    if (busy) return;  // a double tap extends once
    safetyButtons(true);
    var n = ++asked;
    fetch(SAFETY_URL + "/ok", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token()},
      body: JSON.stringify(minutes ? {minutes: minutes} : {})})
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (res) {
        if (res[0]) {
          fresh(n, res[1]);
          say(w("safety_thanks", "Thanks. Next safety check at %(time)s.", {time: hhmm(res[1].next_check_at)}));
        } else {
          say(res[1].detail || w("try_again", "That did not work: try again."));
          safetyLoad();
        }
      })
      .catch(function () { say(w("safety_unreachable", "Could not reach the server: try again, or reply OK to the text.")); })
      .then(function () { safetyButtons(false); safetySchedule(); });
  }
  function confirmHelp(open) {
    if (!panel) return;
    el("safety-confirm").hidden = !open;
    el("safety-help").setAttribute("aria-expanded", open ? "true" : "false");
  }
  function needHelp() {
    var incident = safety && safety.incident_id;
    if (!incident || busy) return;
    safetyButtons(true);
    fetch("/api/v1/incidents/" + incident + "/events", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token()},
      body: JSON.stringify({type: "need_backup"})})
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (res) {
        say(res[0] ? w("backup_sent", "Backup is on the way. The dispatcher knows.") : (res[1].detail || w("try_again", "That did not work: try again.")));
        if (res[0]) { confirmHelp(false); keepFocus(); }
        if (window.spotlineRefresh) window.spotlineRefresh();
      })
      .catch(function () { say(w("backup_unreachable", "Could not reach the server: try again, or call the dispatcher.")); })
      .then(function () { safetyButtons(false); safetyLoad(); });
  }
  if (panel) {
    el("safety-ok").addEventListener("click", function () { safetyOk(null); });
    panel.querySelectorAll("[data-minutes]").forEach(function (b) {
      b.addEventListener("click", function () { safetyOk(parseInt(b.getAttribute("data-minutes"), 10)); });
    });
    el("safety-help").addEventListener("click", function () {
      var open = el("safety-confirm").hidden;
      confirmHelp(open);
      if (open) el("safety-help-yes").focus();  // the answer to the button just pressed
    });
    el("safety-help-yes").addEventListener("click", needHelp);
    el("safety-help-no").addEventListener("click", function () { confirmHelp(false); el("safety-help").focus(); });
    // A phone asleep throttles timers: look again the moment it is back in the hand.
    document.addEventListener("visibilitychange", function () { if (!document.hidden) safetyLoad(); });
    safetyLoad();
  }
})();
