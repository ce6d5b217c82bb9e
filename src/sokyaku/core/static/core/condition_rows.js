// Condition rows: add and remove rows of a server-rendered condition list. Without this
// script the page still works (it always renders a few empty rows).
(function () {
  "use strict";
  function renumber(row, name, index) {
    row.querySelectorAll("select, input").forEach(function (input) {
      input.name = input.name.replace(/-\d+-(property|op|value)$/, "-" + index + "-$1");
    });
  }
  function toggleValue(row, noValue) {
    var op = row.querySelector("[data-condrows-op]");
    var value = row.querySelector("[data-condrows-value]");
    if (!op || !value) return;
    var bare = noValue.indexOf(op.value) !== -1;
    value.disabled = bare;
    if (bare) value.value = "";
  }
  function setup(root) {
    var body = root.querySelector("[data-condrows-body]");
    var name = root.dataset.name;
    var noValue = (root.dataset.noValue || "").split(" ").filter(Boolean);
    var next = parseInt(root.dataset.next, 10) || 0;
    function wire(row) {
      var remove = row.querySelector("[data-condrows-remove]");
      remove.hidden = false;
      remove.addEventListener("click", function () {
        if (body.querySelectorAll("[data-condrows-row]").length > 1) {
          row.remove();
        } else {
          row.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
          row.querySelector("[data-condrows-value]").value = "";
        }
      });
      var op = row.querySelector("[data-condrows-op]");
      op.addEventListener("change", function () { toggleValue(row, noValue); });
      toggleValue(row, noValue);
    }
    body.querySelectorAll("[data-condrows-row]").forEach(wire);
    var add = root.querySelector("[data-condrows-add]");
    add.hidden = false;
    add.addEventListener("click", function () {
      var rows = body.querySelectorAll("[data-condrows-row]");
      var row = rows[rows.length - 1].cloneNode(true);
      renumber(row, name, next);
      next += 1;
      row.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
      var value = row.querySelector("[data-condrows-value]");
      value.value = "";
      value.disabled = false;
      body.appendChild(row);
      wire(row);
      row.querySelector("select").focus();
    });
  }
  document.querySelectorAll("[data-condrows]").forEach(setup);
})();
