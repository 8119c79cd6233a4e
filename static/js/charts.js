// Draws every plotly figure on the page from its <script type="application/json"> block.
// The CSP allows no inline script: the server puts each figure's data in a JSON block
// (never executed) next to an empty div that names it with data-figure.
//
// A chart page holds up to a dozen charts and drawing one takes 30-150 ms, so they are not
// drawn all at once: the charts on the first screen first, the others as they come near
// the viewport, and each in a task of its own, so that a click or a scroll is never kept
// waiting behind the whole page's drawing. Printing draws whatever is left.
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  // Half a screen ahead: a chart is drawn before it scrolls into view at a reading pace.
  var AHEAD = "50% 0px";

  var queue = [];
  var watched = [];
  var waiting = false;
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(near, { rootMargin: AHEAD }) : null;

  // A bar or point whose customdata is a link (the invoices behind it) opens that link.
  function openInvoices(event) {
    var point = event && event.points && event.points[0];
    var link = point && point.customdata;
    if (typeof link === "string" && link.charAt(0) === "/") window.location.assign(link);
  }

  function draw(el) {
    if (observer) observer.unobserve(el);
    if (el.dataset.drawn || !el.isConnected) return;
    var source = document.getElementById(el.dataset.figure);
    if (!source) return;
    el.dataset.drawn = "yes";
    var figure = JSON.parse(source.textContent);
    window.Plotly.react(el, figure.data, figure.layout, config);
    el.on("plotly_click", openInvoices);
  }

  function nextTask(run) {
    if (window.scheduler && window.scheduler.postTask) window.scheduler.postTask(run, { priority: "user-visible" });
    else window.setTimeout(run, 0);
  }

  function drawNext() {
    waiting = false;
    var el = queue.shift();
    if (el) draw(el);
    if (queue.length) {
      waiting = true;
      nextTask(drawNext);
    }
  }

  function enqueue(charts) {
    queue = queue.concat(charts);
    if (!waiting && queue.length) {
      waiting = true;
      nextTask(drawNext);
    }
  }

  // The charts on screen go ahead of those only near it, top first.
  function near(entries) {
    var coming = entries.filter(function (entry) { return entry.isIntersecting; });
    function onScreen(entry) {
      var box = entry.boundingClientRect;
      return box.top < window.innerHeight && box.bottom > 0;
    }
    coming.sort(function (a, b) {
      var aOn = onScreen(a);
      var bOn = onScreen(b);
      if (aOn !== bOn) return aOn ? -1 : 1;
      return a.boundingClientRect.top - b.boundingClientRect.top;
    });
    coming.forEach(function (entry) { observer.unobserve(entry.target); });
    enqueue(coming.map(function (entry) { return entry.target; }));
  }

  function undrawn() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-figure]"), function (el) {
      return !el.dataset.drawn;
    });
  }

  function watch() {
    if (!window.Plotly) return;
    // A chart an htmx swap replaced before it was drawn is let go, not drawn.
    queue = queue.filter(function (el) { return el.isConnected; });
    watched = watched.filter(function (el) {
      if (!el.isConnected && observer) observer.unobserve(el);
      return el.isConnected && !el.dataset.drawn;
    });
    undrawn().forEach(function (el) {
      if (watched.indexOf(el) !== -1) return;
      watched.push(el);
      if (observer) observer.observe(el);
      else enqueue([el]);
    });
  }

  function drawAll() {
    if (!window.Plotly) return;
    queue = [];
    undrawn().forEach(draw);
  }

  // Plotly keeps listeners and state per drawn chart: a chart about to be swapped out is
  // released, or every 30 s refresh would leave the previous nine behind.
  function release(event) {
    var target = event.detail && event.detail.target;
    if (!target || !window.Plotly) return;
    Array.prototype.forEach.call(target.querySelectorAll("[data-figure][data-drawn]"), function (el) {
      window.Plotly.purge(el);
    });
  }

  document.addEventListener("DOMContentLoaded", watch);
  document.addEventListener("htmx:beforeSwap", release);
  // The dashboard fragment is replaced by htmx on a filter change and every 30 s.
  document.addEventListener("htmx:afterSettle", watch);
  window.addEventListener("beforeprint", drawAll);
})();
