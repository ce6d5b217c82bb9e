/* SLA countdowns of the sales inbox: every [data-sla-due] element shows the time left until its
   deadline ("残り 3時間12分") or how long it is overdue ("期限超過 1時間"), refreshed every
   20 seconds. The formats come translated from the page (#handoff-countdown-config); the
   server's "now" corrects a wrong clock on this computer. */
(function () {
  "use strict";
  if (window.sokyakuCountdown) { return; }
  var node = document.getElementById("handoff-countdown-config");
  if (!node) { return; }
  var config = JSON.parse(node.textContent);
  var formats = config.formats;
  var skew = Date.parse(config.now) - Date.now();

  function fill(format, values) {
    return format.replace(/%\((\w+)\)s/g, function (_all, key) { return String(values[key]); });
  }

  function span(seconds) {
    var minutes = Math.floor(Math.max(seconds, 0) / 60);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) { return fill(hours ? formats.dh : formats.d, { d: days, h: hours }); }
    if (hours) { return fill(mins ? formats.hm : formats.h, { h: hours, m: mins }); }
    if (mins) { return fill(formats.m, { m: mins }); }
    return formats.lt;
  }

  function tick() {
    var now = Date.now() + skew;
    var items = document.querySelectorAll("[data-sla-due]");
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      var seconds = (Date.parse(item.getAttribute("data-sla-due")) - now) / 1000;
      var overdue = seconds < 0;
      var text = overdue
        ? fill(formats.over, { time: span(-seconds) })
        : fill(formats.left, { time: span(seconds) });
      if (item.textContent !== text) { item.textContent = text; }
      item.classList.toggle("sla--overdue", overdue);
      item.classList.toggle("sla--running", !overdue);
    }
  }

  window.sokyakuCountdown = { tick: tick };
  tick();
  window.setInterval(tick, 20000);
  document.addEventListener("htmx:afterSwap", tick);
})();
