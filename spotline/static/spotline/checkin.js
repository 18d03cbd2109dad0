/* Check-in page: a visible countdown, and during the last grace period an alarm that
 * a conscious person cannot miss ("sending help in 10 s — tap I'm OK"). */
(function () {
  "use strict";
  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 1046; g.gain.value = 0.3; o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.25);
    } catch (e) { /* the countdown is still on screen */ }
    if (navigator.vibrate) navigator.vibrate(300);
  }
  function tick() {
    document.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.getAttribute("data-until")) - Date.now()) / 1000));
      el.textContent = left >= 60 ? Math.floor(left / 60) + " min " + (left % 60) + " s" : left + " s";
      if (el.hasAttribute("data-alarm")) beep();
    });
  }
  tick();
  setInterval(tick, 1000);
})();

/* Saved plans. The token arrives in the URL fragment (never sent to a server or its
 * logs) and is kept in this phone's storage; the start page offers it back, sending the
 * token in a POST body (intake/checkin_pages.py: plan_posted), never in a URL path. */
(function () {
  "use strict";
  var KEY = "spotline-plan";
  function store(value) {
    try { if (value) localStorage.setItem(KEY, value); else localStorage.removeItem(KEY); }
    catch (e) { /* private mode: the bookmarked link still works */ }
  }
  function stored() { try { return localStorage.getItem(KEY); } catch (e) { return null; } }
  var match = /(?:^#|&)plan=([A-Za-z0-9_-]+)/.exec(location.hash);
  var saved = document.getElementById("plan-saved");
  var offer = document.getElementById("saved-plan-link");
  if (match) {
    store(match[1]);
    history.replaceState(null, "", location.pathname + location.search);
    if (saved) {
      var link = document.getElementById("plan-link");
      link.href = link.textContent = location.origin + "/checkin/#plan=" + match[1];
      saved.hidden = false;
    }
    if (offer) {  // the saved link was opened: open the plan at once
      document.getElementById("saved-plan-token").value = match[1];
      offer.submit();
      return;
    }
  }
  if (document.getElementById("plan-gone")) store(null);
  var token = stored();
  if (offer && token) {
    document.getElementById("saved-plan-token").value = token;
    offer.hidden = false;
    document.getElementById("plan-forget-here").addEventListener("click", function () {
      store(null); offer.hidden = true;
    });
  }
})();
