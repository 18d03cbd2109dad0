/* The planner's runs: while one waits or runs, ask its status.json every two seconds and
 * move its progress bar. The page works without this (a <noscript> refresh). A run's
 * own page reloads when the run ends, to show the report or the error; the list only
 * says the new state, so a half-filled upload form is never thrown away. */
(function () {
  "use strict";
  var EVERY_MS = 2000;

  function update(el, s) {
    var state = el.querySelector("[data-state]");
    var bar = el.querySelector("progress");
    var label = el.querySelector("[data-label]");
    if (s.finished) {
      el.removeAttribute("data-status");
      if (el.hasAttribute("data-reload-when-finished")) { location.reload(); return; }
      if (bar) bar.remove();
      if (label) label.textContent = s.error || "";
    } else {
      if (bar && s.state === "running") bar.value = s.progress;
      if (label) label.textContent = s.label;
    }
    if (state) state.textContent = s.state_label;
  }

  function poll() {
    var waiting = document.querySelectorAll("[data-status]");
    if (!waiting.length) return;
    Array.prototype.forEach.call(waiting, function (el) {
      fetch(el.getAttribute("data-status"), {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s) update(el, s); })
        .catch(function () { /* the next poll tries again */ });
    });
    setTimeout(poll, EVERY_MS);
  }
  setTimeout(poll, EVERY_MS);
})();
