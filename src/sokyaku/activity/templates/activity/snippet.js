{% autoescape off %}/*! sokyaku tracking snippet. Sends page views (the items listed at the notice page) to the
 * sokyaku server this file was loaded from. First-party cookie "sk_vid" only; no third-party code.
 * API: sokyaku.visitorId(), sokyaku.trackPageView(), sokyaku.optOut(), sokyaku.optIn(). */
(function (w, d) {
  "use strict";
  var C = {{ config }};
  var api = w.sokyaku = w.sokyaku || {};
  if (api.loaded) { return; }
  api.loaded = true;

  var script = d.currentScript;
  if (!script) {
    var all = d.getElementsByTagName("script");
    for (var s = all.length - 1; s >= 0; s--) {
      if (all[s].src && all[s].src.indexOf(C.snippet) !== -1) { script = all[s]; break; }
    }
  }
  var origin = "";
  try { origin = new URL(script.src).origin; } catch (e) { origin = ""; }
  var attr = function (name) { return script ? script.getAttribute(name) : null; };
  var ID_RE = new RegExp(C.idPattern);
  var cached = "";

  function readCookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([^;]*)"));
    try { return m ? decodeURIComponent(m[1]) : ""; } catch (e) { return ""; }
  }

  function storageGet(key) {
    try { return w.localStorage.getItem(key) || ""; } catch (e) { return ""; }
  }

  function storageSet(key, value) {
    try {
      if (value) { w.localStorage.setItem(key, value); } else { w.localStorage.removeItem(key); }
    } catch (e) { /* storage disabled */ }
  }

  // The widest domain the browser accepts (example.co.jp for www.example.co.jp: browsers refuse
  // public suffixes such as co.jp), so every subdomain of the site shares one visitor id.
  function writeCookie(name, value, maxAge) {
    var tail = "; path=/; max-age=" + maxAge + "; SameSite=Lax" +
      (w.location.protocol === "https:" ? "; Secure" : "");
    var fixed = attr("data-cookie-domain");
    var host = w.location.hostname;
    var parts = host.split(".");
    var domains = [];
    if (fixed) {
      domains.push(fixed);
    } else if (parts.length > 1 && !/^[0-9.]+$/.test(host) && host.indexOf(":") === -1) {
      for (var i = parts.length - 2; i >= 0; i--) { domains.push(parts.slice(i).join(".")); }
    }
    for (var j = 0; j < domains.length; j++) {
      d.cookie = name + "=" + value + "; domain=" + domains[j] + tail;
      if (readCookie(name) === value) { return; }
    }
    d.cookie = name + "=" + value + tail;
  }

  function optedOut() {
    return storageGet(C.optOut) === "1" || readCookie(C.optOut) === "1" ||
      (w.navigator.globalPrivacyControl === true && attr("data-ignore-gpc") === null);
  }

  function newId() {
    var bytes = new Uint8Array(16);
    var crypto = w.crypto || w.msCrypto;
    if (crypto && crypto.getRandomValues) {
      crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < 16; i++) { bytes[i] = Math.floor(Math.random() * 256); }
    }
    var out = "";
    for (var k = 0; k < 16; k++) { out += (bytes[k] + 256).toString(16).slice(1); }
    return out;
  }

  // The browser's visitor id: cookie sk_vid, else localStorage, else a new one; "" after an
  // opt-out. Read by sokyaku forms (hidden field _vid) to join earlier visits to the person.
  function visitorId() {
    if (optedOut()) { return ""; }
    if (cached) { return cached; }
    var id = readCookie(C.cookie);
    if (!ID_RE.test(id)) { id = storageGet(C.cookie); }
    if (!ID_RE.test(id)) { id = newId(); }
    writeCookie(C.cookie, id, C.maxAge);
    storageSet(C.cookie, id);
    cached = id;
    return id;
  }

  function cut(value, max) { return String(value || "").slice(0, max); }

  function payload(referrer) {
    var query;
    try { query = new URL(w.location.href).searchParams; } catch (e) { query = null; }
    var data = {};
    for (var i = 0; i < C.fields.length; i++) {
      var f = C.fields[i], v = "";
      if (f.from === "visitor") { v = visitorId(); }
      else if (f.from === "location") { v = w.location.href; }
      else if (f.from === "title") { v = d.title; }
      else if (f.from === "referrer") { v = referrer; }
      else if (f.from === "query" && query) { v = query.get(f.key) || ""; }
      if (v) { data[f.key] = cut(v, f.max); }
    }
    return data;
  }

  function send(data) {
    var body = JSON.stringify(data);
    var collect = origin + C.collect;
    var nav = w.navigator;
    // text/plain: a "simple" cross-origin request, no preflight.
    try { if (nav.sendBeacon && nav.sendBeacon(collect, body)) { return; } } catch (e) { /* next */ }
    if (w.fetch) {
      try {
        w.fetch(collect, {
          method: "POST", body: body, keepalive: true, mode: "cors", credentials: "omit",
          headers: { "Content-Type": "text/plain;charset=UTF-8" }
        })["catch"](function () {});
        return;
      } catch (e) { /* next */ }
    }
    var parts = [];
    for (var key in data) {
      if (Object.prototype.hasOwnProperty.call(data, key)) {
        parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(data[key]));
      }
    }
    new w.Image(1, 1).src = origin + C.pixel + "?" + parts.join("&");
  }

  var lastUrl = "";

  // Record a page view (called on load and on single-page-app navigation; call it yourself
  // after other client-side navigation). The same URL twice in a row counts once.
  function trackPageView() {
    if (optedOut() || !origin) { return; }
    var url = w.location.href;
    if (url === lastUrl) { return; }
    var referrer = lastUrl || d.referrer;
    lastUrl = url;
    send(payload(referrer));
  }

  function fillForms(root) {
    var id = visitorId();
    if (!id || !root || !root.querySelectorAll) { return; }
    var inputs = root.querySelectorAll('input[name="_vid"]');
    for (var i = 0; i < inputs.length; i++) { if (!inputs[i].value) { inputs[i].value = id; } }
  }

  api.visitorId = visitorId;
  api.trackPageView = trackPageView;
  api.noticeUrl = origin + C.notice;
  api.optOut = function () {
    writeCookie(C.optOut, "1", C.maxAge);
    storageSet(C.optOut, "1");
    writeCookie(C.cookie, "", 0);
    storageSet(C.cookie, "");
    cached = "";
  };
  api.optIn = function () {
    writeCookie(C.optOut, "", 0);
    storageSet(C.optOut, "");
  };

  d.addEventListener("submit", function (event) { fillForms(event.target); }, true);

  if (w.history && w.history.pushState && attr("data-spa") !== "false") {
    var push = w.history.pushState;
    w.history.pushState = function () {
      var result = push.apply(this, arguments);
      w.setTimeout(trackPageView, 0);
      return result;
    };
    w.addEventListener("popstate", function () { w.setTimeout(trackPageView, 0); });
  }

  function start() {
    trackPageView();
    fillForms(d);
  }
  // A prerendered page counts when it is shown, not when the browser guessed it might be.
  if (d.prerendering) {
    d.addEventListener("prerenderingchange", start, { once: true });
  } else if (d.readyState === "loading") {
    d.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window, document);
{% endautoescape %}
