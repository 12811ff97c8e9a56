// The pages' one script: the alerts page follows new alerts as they fire
// (server-sent events). Every page works without it.
(function () {
  "use strict";
  var table = document.getElementById("alerts-live");
  if (!table || !window.EventSource) { return; }
  var src = new EventSource(table.getAttribute("data-stream"));
  var body = table.querySelector("tbody");
  var words = JSON.parse(document.getElementById("alert-words").textContent);
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }
  src.addEventListener("alert", function (e) {
    var a = JSON.parse(e.data);
    var old = document.getElementById("alert-" + a.id);
    if (old) { old.parentNode.removeChild(old); }
    if (a.state !== "raised") { return; }
    var row = document.createElement("tr");
    row.id = "alert-" + a.id;
    row.className = "new";
    cell(row, a.on);
    cell(row, words["rule." + a.rule] || a.rule);
    cell(row, a.county_name);
    var link = document.createElement("a");
    link.href = "/commitments/" + encodeURIComponent(a.commitment_id);
    link.textContent = a.project;
    cell(row, "").appendChild(link);
    cell(row, a.due);
    cell(row, a.days_overdue > 0 ? String(a.days_overdue) : "").className = "num";
    body.insertBefore(row, body.firstChild);
    var none = document.getElementById("alerts-none");
    if (none) { none.parentNode.removeChild(none); }
  });
})();
