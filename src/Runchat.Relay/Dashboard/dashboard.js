// The relay dashboard's only script (served from the assembly; the page's CSP allows no other):
// it keeps the counts (overview) and a delivery's state (detail) current, without a reload, polling every 3 s.
(function () {
  var delivery = document.querySelector("[data-delivery]");
  if (delivery) {
    var stateUrl = delivery.getAttribute("data-delivery");
    setInterval(function () {
      fetch(stateUrl, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (current) {
          var badge = document.querySelector("[data-state]");
          if (!current || !badge || badge.textContent === current.state) { return; }
          badge.textContent = current.state;
          badge.className = "state state-" + current.state;
        })
        .catch(function () { });
    }, 3000);
  }

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
