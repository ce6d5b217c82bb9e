/* Draws the report pages' charts: every <div class="chart" data-figure="{json}"> becomes a
   plotly chart (plotly.js comes from our own static files, loaded before this script). Charts
   that arrive later in an htmx swap are drawn when the swap settles. */
(function () {
  "use strict";
  if (window.sokyakuCharts) {
    return;
  }
  var CONFIG = { displaylogo: false, responsive: true };

  function draw(element) {
    var figure;
    try {
      figure = JSON.parse(element.getAttribute("data-figure"));
    } catch (error) {
      element.setAttribute("data-chart-error", "");
      return;
    }
    element.setAttribute("data-rendered", "");
    var config = Object.assign({}, CONFIG, figure.config || {});
    window.Plotly.newPlot(element, figure.data || [], figure.layout || {}, config);
  }

  function render(root) {
    if (!window.Plotly) {
      return;
    }
    var scope = root && root.querySelectorAll ? root : document;
    var pending = scope.querySelectorAll(".chart[data-figure]:not([data-rendered])");
    Array.prototype.forEach.call(pending, draw);
  }

  window.sokyakuCharts = { render: render };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { render(document); });
  } else {
    render(document);
  }
  document.addEventListener("htmx:afterSettle", function (event) { render(event.target); });
})();
