// A folded "Filters · n set" stays true after htmx swaps the list below it: the count is
// read again from the address htmx pushed, by the rule dunning/helpers/filter_fields.py
// applies when the page is first drawn (the form's visible controls the address gives a
// value; hidden inputs and buttons are not filters).
(function () {
  "use strict";
  var notFilters = ["hidden", "submit", "button", "reset", "image"];

  function filtersSet(form, query) {
    var names = [];
    form.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (control) {
      if (control.tagName === "INPUT" && notFilters.indexOf((control.type || "text").toLowerCase()) >= 0) return;
      if (names.indexOf(control.name) < 0) names.push(control.name);
    });
    return names.filter(function (name) {
      return query.getAll(name).some(function (value) { return value.trim() !== ""; });
    }).length;
  }

  function recount() {
    var query = new URLSearchParams(window.location.search);
    document.querySelectorAll("details.filters").forEach(function (details) {
      var summary = details.querySelector("summary");
      var form = details.querySelector("form");
      if (!summary || !form) return;
      var set = filtersSet(form, query);
      summary.textContent = set ? "Filters · " + set + " set" : "Filters";
    });
  }

  document.addEventListener("htmx:pushedIntoHistory", recount);
  document.addEventListener("htmx:replacedInHistory", recount);
})();
