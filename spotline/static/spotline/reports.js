/* Program reports: draws the charts from the page's numbers (#report-data, written by
 * the server) with the vendored Chart.js. The table beside each chart holds the same
 * numbers, so without scripts nothing is lost. A hidden figure is null: a gap in the
 * chart where the table says "<11". Before printing, the charts take the width of an
 * A4 page; after, the width of the screen again. */
(function () {
  "use strict";
  // The print page's button (hidden without scripts: the browser's own Print is there).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  var source = document.getElementById("report-data");
  if (!source || !window.Chart) return;
  var data;
  try { data = JSON.parse(source.textContent); } catch (e) { return; }
  var colours = ["#0b4f9c", "#b4420a"];  // blue bars, orange line: apart in greyscale too

  function config(spec) {
    var scales = {
      x: {ticks: {autoSkip: true, maxRotation: 60}},
      y: {beginAtZero: true, title: {display: true, text: spec.y}}
    };
    if (spec.y2) {
      scales.y2 = {position: "right", beginAtZero: true, grid: {drawOnChartArea: false},
                   title: {display: true, text: spec.y2}};
    }
    return {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          var colour = colours[i % colours.length];
          return {label: s.label, data: s.data, type: s.line ? "line" : "bar",
                  yAxisID: s.axis || "y", backgroundColor: colour, borderColor: colour,
                  pointRadius: s.line ? 0 : 3, spanGaps: false, order: s.line ? 0 : 1};
        })
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, scales: scales,
        plugins: {legend: {display: spec.series.length > 1}}
      }
    };
  }

  var charts = [];
  data.charts.forEach(function (spec) {
    var box = document.querySelector('[data-chart="' + spec.id + '"]');
    if (!box) return;
    box.hidden = false;
    charts.push(new window.Chart(box.querySelector("canvas"), config(spec)));
  });

  // A4 less 15 mm margins is 180 mm wide: 680 px at the 96 dpi browsers print with;
  // the print style sheet makes a chart 7 cm (265 px) tall.
  window.addEventListener("beforeprint", function () {
    charts.forEach(function (chart) { chart.resize(680, 265); });
  });
  window.addEventListener("afterprint", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
