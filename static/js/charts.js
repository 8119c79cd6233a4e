// Draws every plotly figure on the page from its <script type="application/json"> block.
// The CSP allows no inline script: the server puts each figure's data in a JSON block
// (never executed) next to an empty div that names it with data-figure.
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  // A bar or point whose customdata is a link (the invoices behind it) opens that link.
  function openInvoices(event) {
    var point = event && event.points && event.points[0];
    var link = point && point.customdata;
    if (typeof link === "string" && link.charAt(0) === "/") window.location.assign(link);
  }

  function draw() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.react(el, figure.data, figure.layout, config);
      if (!el.dataset.opensInvoices) {
        el.dataset.opensInvoices = "yes";
        el.on("plotly_click", openInvoices);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  // The dashboard fragment is replaced by htmx on a filter change and every 30 s.
  document.addEventListener("htmx:afterSettle", draw);
})();
