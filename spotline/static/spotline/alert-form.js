/* The alert form: choosing a substance ticks that substance's usual advice (the server
 * starts a new alert with it too; the coordinator changes it as needed). */
(function () {
  "use strict";
  var substance = document.getElementById("id_substance");
  if (!substance) return;
  var usual = {};
  try { usual = JSON.parse(substance.getAttribute("data-advice") || "{}"); } catch (e) { return; }
  substance.addEventListener("change", function () {
    var codes = usual[substance.value] || [];
    document.querySelectorAll("#advice input[name=advice]").forEach(function (box) {
      box.checked = codes.indexOf(box.value) >= 0;
    });
  });
})();
