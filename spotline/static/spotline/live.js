/* Live regions: a WebSocket says "something changed", the page re-fetches its regions.
 *
 * The push carries IDs only, and the page asks the server for what it may see, so a
 * missed or duplicated push can never leave the page wrong for long:
 *  - on (re)connect the regions are re-fetched (resynchronise after a drop);
 *  - while the socket is down, regions are polled every few seconds;
 *  - without WebSocket support, polling is all there is.
 * A region is any element with data-live; it is re-rendered from the same URL with the
 * header X-Live: 1, which the server answers with that region's HTML only.
 */
(function () {
  "use strict";
  // The page's words for scripts, in its language (base.html, dispatch/words.py).
  var words = {};
  try { words = JSON.parse(document.getElementById("ui-strings").textContent); } catch (e) { /* English below */ }
  function t(key, fallback, values) {
    var s = words[key] || fallback;
    Object.keys(values || {}).forEach(function (k) { s = s.replace("%(" + k + ")s", values[k]); });
    return s;
  }
  window.spotlineWords = t;

  // "in 40 s", "3 min ago": kept true every second (the server wrote the first words).
  function relative(ms) {
    var span = Math.round(Math.abs(ms) / 1000), amount;
    if (span < 5) return t("now", "now");
    if (span < 60) amount = t("s", "%(n)s s", {n: span});
    else if (span < 3600) amount = t("min", "%(n)s min", {n: Math.floor(span / 60)});
    else amount = t("h", "%(h)s h %(m)s min", {h: Math.floor(span / 3600), m: Math.floor(span % 3600 / 60)});
    return ms >= 0 ? t("in", "in %(time)s", {time: amount}) : t("ago", "%(time)s ago", {time: amount});
  }
  // A phone's clock can be minutes off: count from the server's "now" written beside each
  // time, as first seen (a render is well under a second old by then).
  function tick() {
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (el.spotlineSkew === undefined) {
        var now = Date.parse(el.getAttribute("data-now"));
        el.spotlineSkew = isNaN(now) ? 0 : now - Date.now();
      }
      if (!isNaN(at)) { var text = relative(at - Date.now() - el.spotlineSkew); if (el.textContent !== text) el.textContent = text; }
    });
  }
  setInterval(tick, 1000);

  var body = document.body;
  var wsPath = body.getAttribute("data-live-ws");
  var pollOnly = body.hasAttribute("data-live-poll-only");
  if (!wsPath && !pollOnly) return;
  var pollMs = parseInt(body.getAttribute("data-live-poll") || "5000", 10);
  var stateEl = document.getElementById("live-state");
  var backoff = 1000, pollTimer = null, pending = null, socket = null;

  function say(text) { if (stateEl) stateEl.textContent = text; }

  function refresh() {
    pending = null;
    var regions = document.querySelectorAll("[data-live]");
    if (!regions.length) return;
    fetch(location.href, {headers: {"X-Live": "1"}, credentials: "same-origin", cache: "no-store"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        regions.forEach(function (region) {
          var fresh = doc.getElementById(region.id);
          if (!fresh || fresh.innerHTML === region.innerHTML) return;
          // Never yank a control out from under someone typing in it.
          if (region.contains(document.activeElement) && document.activeElement.matches("input,textarea,select")) return;
          region.innerHTML = fresh.innerHTML;
          region.dispatchEvent(new CustomEvent("live:updated", {bubbles: true}));
        });
      })
      .catch(function () { say(t("connection_problem", "Connection problem: retrying…")); });
  }

  // Several pushes in a burst cost one fetch.
  function soon() { if (!pending) pending = setTimeout(refresh, 150); }
  window.spotlineRefresh = soon;

  function startPolling() {
    if (!pollTimer) pollTimer = setInterval(refresh, pollMs);
  }
  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wsPath;
    try { socket = new WebSocket(url); } catch (e) { startPolling(); return; }
    socket.onopen = function () {
      backoff = 1000; stopPolling(); say(t("live", "Live")); body.setAttribute("data-live-connected", "1");
      refresh();
    };
    socket.onmessage = function (e) {
      var msg; try { msg = JSON.parse(e.data); } catch (err) { return; }
      if (msg.type === "changed") soon();
    };
    socket.onclose = function () {
      body.removeAttribute("data-live-connected");
      say(t("reconnecting", "Reconnecting… (updating every few seconds meanwhile)"));
      startPolling();
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  if (pollOnly || !("WebSocket" in window)) startPolling(); else connect();
  // Keep idle sockets open through proxies.
  setInterval(function () { if (socket && socket.readyState === 1) socket.send('{"type":"ping"}'); }, 25000);
})();
