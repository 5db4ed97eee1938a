// The operations dashboard's charts, drawn with Chart.js from the numbers the page carries
// in its "dashboard-data" JSON element. The same numbers are in the tables under each chart,
// so the page says everything without JavaScript too.
(function () {
  "use strict";

  // Okabe-Ito: told apart with every common colour-vision deficiency.
  var PALETTE = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000",
    "#F0E442", "#999999", "#882255"];

  function coloured(datasets, fill) {
    return datasets.map(function (dataset, index) {
      var colour = PALETTE[index % PALETTE.length];
      return Object.assign({}, dataset, {
        backgroundColor: colour,
        borderColor: colour,
        fill: fill,
        spanGaps: true,
        pointRadius: 2
      });
    });
  }

  function draw(id, type, series, options) {
    var canvas = document.getElementById("chart-" + id);
    if (!canvas || !series) {
      return;
    }
    new window.Chart(canvas, {
      type: type,
      data: { labels: series.labels, datasets: coloured(series.datasets, false) },
      options: Object.assign({
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: document.documentElement.lang || "en",
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
      }, options)
    });
  }

  function start() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    draw("first_attempt", "line", data.first_attempt, {
      plugins: { legend: { display: false } },
      scales: { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + " %"; } } } }
    });
    draw("entries", "bar", data.entries, {
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } }
    });
    draw("weekly", "bar", data.weekly, {
      scales: {
        x: { title: { display: true, text: data.weekly.x_title } },
        y: { beginAtZero: true, ticks: { precision: 0 } }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", start);
}());
