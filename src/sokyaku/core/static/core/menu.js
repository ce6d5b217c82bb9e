/* The top bar's menus are <details> elements: they open and close without this script. With it,
   each menu button reports aria-expanded, one menu is open at a time, Escape or a click elsewhere
   closes it, and the arrow keys move between its links. */
(function () {
  "use strict";

  function menus() {
    return Array.prototype.slice.call(
      document.querySelectorAll(".menu__details, .navdrawer")
    );
  }

  function sync(details) {
    var summary = details.querySelector("summary");
    if (summary) summary.setAttribute("aria-expanded", details.open ? "true" : "false");
  }

  function close(details, focus) {
    details.open = false;
    sync(details);
    if (focus) details.querySelector("summary").focus();
  }

  function links(details) {
    return Array.prototype.slice.call(details.querySelectorAll("a[href]"));
  }

  function init() {
    menus().forEach(function (details) {
      sync(details);
      details.addEventListener("toggle", function () {
        sync(details);
        if (!details.open) return;
        menus().forEach(function (other) {
          if (other !== details && other.open && !other.contains(details)) close(other, false);
        });
      });
      details.addEventListener("keydown", function (event) {
        if (!details.open) return;
        if (event.key === "Escape") {
          event.preventDefault();
          close(details, true);
          return;
        }
        if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
        var items = links(details);
        if (!items.length) return;
        event.preventDefault();
        var at = items.indexOf(document.activeElement);
        var next = event.key === "ArrowDown" ? at + 1 : at - 1;
        if (at === -1) next = event.key === "ArrowDown" ? 0 : items.length - 1;
        items[(next + items.length) % items.length].focus();
      });
    });
    document.addEventListener("click", function (event) {
      menus().forEach(function (details) {
        if (details.open && !details.contains(event.target)) close(details, false);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
