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
