/* lbaudit HTML report: filters the table of every finding.  Inlined into the page; the CSP admits
   this exact text by its SHA-256.  Every row is in the DOM from the start (readable without
   JavaScript); filtering only sets `hidden`, and at most one page of matching rows is shown at once
   so that 5,000 findings filter without a long layout.  Filters live in the URL fragment
   (#status=fail&q=nginx), so a filtered view can be linked and reopened. */
(function () {
  "use strict";
  var table = document.getElementById("finding-table");
  if (!table) { return; }
  var pageSize = parseInt(table.getAttribute("data-page-size"), 10) || 250;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var texts = null; // lower-cased text of each row, built on the first text search
  var fields = {
    status: document.getElementById("f-status"),
    severity: document.getElementById("f-severity"),
    rule: document.getElementById("f-rule"),
    control: document.getElementById("f-control"),
    q: document.getElementById("f-text")
  };
  var shown = document.getElementById("f-shown");
  var more = document.getElementById("f-more");
  var limit = pageSize;
  var data = rows.map(function (row) {
    return {
      status: row.getAttribute("data-status"),
      severity: row.getAttribute("data-severity"),
      rule: row.getAttribute("data-rule"),
      controls: row.getAttribute("data-controls")
    };
  });

  function current() {
    return {
      status: fields.status.value, severity: fields.severity.value, rule: fields.rule.value,
      control: fields.control.value, q: fields.q.value.trim().toLowerCase()
    };
  }

  function apply() {
    var started = performance.now();
    var f = current();
    if (f.q && texts === null) {
      texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    }
    var matching = 0;
    for (var i = 0; i < rows.length; i++) {
      var d = data[i];
      var match = (!f.status || d.status === f.status) && (!f.severity || d.severity === f.severity) &&
        (!f.rule || d.rule === f.rule) && (!f.control || d.controls.indexOf(" " + f.control + " ") >= 0) &&
        (!f.q || texts[i].indexOf(f.q) >= 0);
      var visible = match && matching < limit;
      if (match) { matching++; }
      if (rows[i].hidden === visible) { rows[i].hidden = !visible; }
    }
    var visibleCount = Math.min(matching, limit);
    shown.textContent = (matching === rows.length ? rows.length + " findings" : matching + " of " + rows.length +
      " findings match") + (visibleCount < matching ? "; showing the first " + visibleCount + "." : ".");
    more.hidden = visibleCount >= matching;
    shown.setAttribute("data-matching", String(matching));
    shown.setAttribute("data-visible", String(visibleCount));
    shown.setAttribute("data-filter-ms", (performance.now() - started).toFixed(1));
  }

  function writeFragment() {
    var f = current(), parts = [];
    ["status", "severity", "rule", "control", "q"].forEach(function (key) {
      var value = key === "q" ? fields.q.value.trim() : f[key];
      if (value) { parts.push(key + "=" + encodeURIComponent(value)); }
    });
    try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname); } catch (e) { /* file: in some browsers */ }
  }

  function readFragment() {
    var hash = location.hash.replace(/^#/, "");
    if (hash.indexOf("=") < 0) { return; }
    hash.split("&").forEach(function (part) {
      var eq = part.indexOf("="), key = part.slice(0, eq), value;
      try { value = decodeURIComponent(part.slice(eq + 1)); } catch (e) { return; }
      var field = fields[key];
      if (!field) { return; }
      if (field.tagName === "SELECT") {
        for (var i = 0; i < field.options.length; i++) {
          if (field.options[i].value === value) { field.value = value; }
        }
      } else { field.value = value; }
    });
  }

  function changed() { limit = pageSize; apply(); writeFragment(); }
  var timer = null;
  ["status", "severity", "rule", "control"].forEach(function (key) { fields[key].addEventListener("change", changed); });
  fields.q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(changed, 150); });
  document.getElementById("filters").addEventListener("reset", function () { setTimeout(changed, 0); });
  document.getElementById("filters").addEventListener("submit", function (event) { event.preventDefault(); });
  more.addEventListener("click", function () { limit += pageSize; apply(); });
  readFragment();
  apply();
  shown.setAttribute("data-ready-ms", performance.now().toFixed(1));
})();
