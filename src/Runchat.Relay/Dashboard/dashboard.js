// The relay dashboard's only script (served from the assembly; the page's CSP allows no other):
// it keeps the counts on the page current, without a reload, by polling the summary every 3 s.
(function () {
  var root = document.querySelector("[data-summary]");
  if (!root) { return; }
  var url = root.getAttribute("data-summary");
  function refresh() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (summary) {
        if (!summary) { return; }
        Object.keys(summary.states).forEach(function (state) {
          var cell = document.querySelector("[data-count='" + state + "']");
          if (cell) { cell.textContent = String(summary.states[state]); }
        });
        var stamp = document.querySelector("[data-updated]");
        if (stamp) { stamp.textContent = summary.at; }
      })
      .catch(function () { });
  }
  setInterval(refresh, 3000);
})();
