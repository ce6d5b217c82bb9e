/* sokyaku embedded form. Put <div data-sokyaku-form="{{ slug|escapejs }}"></div> where the form
   should appear and load this script. The form is sent with fetch, without cookies; the site
   must be on the form's allow-list in sokyaku. */
(function () {
  "use strict";
  var slug = "{{ slug|escapejs }}";
  var script = document.currentScript;
  var base = "{{ site_url|escapejs }}";
  try { if (script && script.src) { base = new URL(script.src).origin; } } catch (e) { /* keep SITE_URL */ }
  var fragmentUrl = base + "/f/" + encodeURIComponent(slug) + "/embed";
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) { return decodeURIComponent(parts[i].slice(eq + 1)); }
    }
    return "";
  }

  // The tracking snippet's visitor id (it honours opt-outs); without the snippet, its cookie.
  function visitorId() {
    if (window.sokyaku && typeof window.sokyaku.visitorId === "function") { return window.sokyaku.visitorId(); }
    if (cookie("sk_optout") === "1" || navigator.globalPrivacyControl === true) { return ""; }
    return cookie("sk_vid");
  }

  function setHidden(form, name, value) {
    if (!value) { return; }
    var input = form.querySelector('input[type="hidden"][name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    if (!input.value) { input.value = value; }
  }

  function fill(form) {
    var params = new URLSearchParams(window.location.search);
    setHidden(form, "_page_url", window.location.href.slice(0, 1000));
    setHidden(form, "_referrer", document.referrer.slice(0, 1000));
    UTM.forEach(function (key) { setHidden(form, key, params.get(key) || ""); });
    setHidden(form, "_vid", visitorId());
    // Hidden fields of the form take the page's URL parameter of the same name.
    var hidden = form.querySelectorAll('input[type="hidden"]');
    for (var i = 0; i < hidden.length; i++) {
      var name = hidden[i].name;
      if (name.charAt(0) !== "_" && params.has(name)) { hidden[i].value = params.get(name).slice(0, 500); }
    }
  }

  function clearErrors(form) {
    var old = form.querySelectorAll(".skf-error, .skf-errors");
    for (var i = 0; i < old.length; i++) { old[i].parentNode.removeChild(old[i]); }
    var invalid = form.querySelectorAll(".skf-field--invalid");
    for (var j = 0; j < invalid.length; j++) { invalid[j].classList.remove("skf-field--invalid"); }
  }

  function say(form, text) {
    var box = document.createElement("div");
    box.className = "skf-errors";
    box.setAttribute("role", "alert");
    var p = document.createElement("p");
    p.textContent = text;
    box.appendChild(p);
    form.insertBefore(box, form.firstChild);
  }

  function showErrors(form, data) {
    var errors = data.errors || {};
    var placed = false;
    Object.keys(errors).forEach(function (name) {
      var input = form.querySelector('[name="' + name.replace(/["\\]/g, "") + '"]');
      var holder = input && input.closest(".skf-pair__item, .skf-field, .skf-consent, .skf-agree");
      if (!holder) { return; }
      var p = document.createElement("p");
      p.className = "skf-error";
      p.textContent = errors[name];
      holder.appendChild(p);
      (holder.closest(".skf-field") || holder).classList.add("skf-field--invalid");
      placed = true;
    });
    if (data.detail || !placed) { say(form, data.detail || form.getAttribute("data-error-text") || ""); }
  }

  function thank(container, data) {
    var box = document.createElement("div");
    box.className = "skf-thanks";
    box.setAttribute("role", "status");
    var p = document.createElement("p");
    p.textContent = data.message || "";
    box.appendChild(p);
    if (data.confirmation) {
      var note = document.createElement("p");
      note.className = "skf-note";
      note.textContent = data.confirmation;
      box.appendChild(note);
    }
    (data.links || []).forEach(function (link) {
      if (!/^https?:\/\//i.test(link.url || "")) { return; }
      var a = document.createElement("a");
      a.href = link.url;
      a.rel = "noopener";
      a.className = "skf-submit";
      a.textContent = link.label || link.url;
      box.appendChild(a);
    });
    container.innerHTML = "";
    container.appendChild(box);
  }

  function submit(container, form, event) {
    event.preventDefault();
    var button = form.querySelector(".skf-submit");
    if (button) { button.disabled = true; }
    clearErrors(form);
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "omit",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (answer) {
      var data = answer.data || {};
      if (data.ok) {
        if (data.redirect && /^https?:\/\//i.test(data.redirect)) { window.location.assign(data.redirect); return; }
        thank(container, data);
        return;
      }
      if (data.token) { form.querySelector('input[name="_token"]').value = data.token; }
      showErrors(form, data);
      if (button) { button.disabled = false; }
    }).catch(function () {
      say(form, form.getAttribute("data-error-text") || "Sending failed. Please try again.");
      if (button) { button.disabled = false; }
    });
  }

  function mount(container) {
    if (container.getAttribute("data-sokyaku-mounted")) { return; }
    container.setAttribute("data-sokyaku-mounted", "1");
    if (!document.querySelector('link[data-sokyaku-css]')) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = base + "{{ css_path|escapejs }}";
      css.setAttribute("data-sokyaku-css", "1");
      document.head.appendChild(css);
    }
    fetch(fragmentUrl, { credentials: "omit", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        container.innerHTML = html;
        var form = container.querySelector("form[data-sokyaku-form-body]");
        if (!form) { return; }
        fill(form);
        form.addEventListener("submit", function (event) { submit(container, form, event); });
      })
      .catch(function () { container.textContent = ""; });
  }

  function start() {
    var containers = document.querySelectorAll('[data-sokyaku-form="' + slug + '"]');
    for (var i = 0; i < containers.length; i++) { mount(containers[i]); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
