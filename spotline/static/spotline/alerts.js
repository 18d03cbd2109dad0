/* The alerts page: drug alerts in this browser by Web Push. (The list keeps itself
 * current with live.js: the ws/alerts/ socket, polling while it is down.)
 *
 * Shown only where it can work: a VAPID key on the server, a service worker and the
 * Push API here. "Get alerts" asks for permission (a user gesture), subscribes with the
 * server's key through the service worker scoped to /alerts/, and posts the
 * subscription with the areas ticked in the form; "Stop" tells the server, then
 * unsubscribes. Anything that fails leaves texts and email as the way to subscribe. */
(function () {
  "use strict";
  var box = document.getElementById("push-box");
  var form = document.getElementById("subscribe-form");
  if (!box || !form) return;
  var key = box.getAttribute("data-vapid");
  if (!key || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  var on = document.getElementById("push-on");
  var off = document.getElementById("push-off");
  var status = document.getElementById("push-status");
  var registered = navigator.serviceWorker.register(box.getAttribute("data-sw"), {scope: box.getAttribute("data-scope")});
  box.hidden = false;

  function say(text) { status.textContent = text || ""; }
  // "Get alerts" stays: pressing it again saves the areas ticked now.
  function showSubscribed(yes) { off.hidden = !yes; }
  function csrf() {
    var field = form.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }
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
  function chosen() {
    var all = form.querySelector("[name=all]");
    var areas = Array.prototype.map.call(form.querySelectorAll("[name=areas]:checked"), function (b) { return parseInt(b.value, 10); });
    return {all: !!(all && all.checked), areas: areas};
  }
  function post(url, data) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: JSON.stringify(data)})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) {
          if (!r.ok) throw new Error(b.detail || box.getAttribute("data-failed"));
          return b;
        });
      });
  }
  function current() {
    return registered.then(function (reg) { return reg.pushManager.getSubscription(); });
  }

  current().then(function (sub) { showSubscribed(!!sub); }).catch(function () { box.hidden = true; });

  function subscribe() {
    return registered.then(function () { return navigator.serviceWorker.ready; })
      .then(function (reg) {
        return reg.pushManager.getSubscription().then(function (sub) {
          // One made with another server key (rotated) would never deliver.
          if (sub && sub.options && sub.options.applicationServerKey && b64(sub.options.applicationServerKey) !== key) {
            return sub.unsubscribe().then(function () { return null; });
          }
          return sub;
        }).then(function (sub) {
          return sub || reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: unb64(key)});
        });
      })
      .then(function (sub) {
        var data = sub.toJSON();
        var areas = chosen();
        data.all = areas.all;
        data.areas = areas.areas;
        return post(box.getAttribute("data-url"), data);
      });
  }

  on.addEventListener("click", function () {
    var areas = chosen();
    if (!areas.all && !areas.areas.length) { say(box.getAttribute("data-choose")); return; }
    say("");
    var answered = false;
    function go(permission) {
      if (answered) return;
      answered = true;
      if (permission !== "granted") { say(box.getAttribute("data-denied")); return; }
      subscribe().then(function (b) { say(b.detail); showSubscribed(true); })
        .catch(function (e) { say(e && e.message ? e.message : box.getAttribute("data-failed")); });
    }
    try {
      var asked = Notification.requestPermission(go);  // old Safari: callback only
      if (asked && asked.then) asked.then(go).catch(function () { go("denied"); });
    } catch (e) { go("denied"); }
  });

  off.addEventListener("click", function () {
    current().then(function (sub) {
      if (!sub) return {detail: ""};
      return post(box.getAttribute("data-delete-url"), {endpoint: sub.endpoint})
        .then(function (b) { return sub.unsubscribe().then(function () { return b; }); });
    }).then(function (b) { say(b.detail); showSubscribed(false); })
      .catch(function (e) { say(e && e.message ? e.message : box.getAttribute("data-failed")); });
  });
})();
