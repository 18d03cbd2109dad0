/* Responder app: forms without reloads, an offer that demands attention, location
 * shared only while on shift, and the offline shell (service worker). */
(function () {
  "use strict";
  var toast = document.getElementById("toast");
  function say(t) { if (toast) toast.textContent = t; }
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
      .then(function (res) { say(res[1].detail || ""); if (window.spotlineRefresh) window.spotlineRefresh(); syncWatch(); })
      .catch(function () { say("Could not reach the server: try again."); });
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
    if (fresh && !initial) { alarm(); document.title = "NEW OFFER · Spotline"; }
    if (!document.querySelector("[data-offer]")) document.title = "Responder · Spotline";
  }
  checkOffers(false);
  document.addEventListener("live:updated", function () { checkOffers(false); syncWatch(); });
})();
