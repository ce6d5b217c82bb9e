/* The sequence flow: show only the settings of the chosen branch/goal condition, and move a
   step by dragging its handle onto another step (saved on the server, then the flow is redrawn
   from the server's answer). Without this script every form still works on its own. */
(function () {
  "use strict";

  function conditions(root) {
    root.querySelectorAll(".seq-stepform").forEach(function (form) {
      var select = form.querySelector("select[name=condition]");
      if (!select) { return; }
      form.querySelectorAll("[data-seq-when]").forEach(function (box) {
        box.hidden = box.getAttribute("data-seq-when") !== select.value;
      });
    });
  }

  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  var dragged = null;

  document.addEventListener("change", function (event) {
    if (event.target.matches(".seq-stepform select[name=condition]")) {
      conditions(event.target.closest(".seq-stepform").parentNode);
    }
  });

  document.addEventListener("dragstart", function (event) {
    var handle = event.target.closest && event.target.closest(".seq-step__handle");
    if (!handle) { return; }
    dragged = handle.closest(".seq-step");
    dragged.classList.add("seq-step--dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.getAttribute("data-step"));
    event.dataTransfer.setDragImage(dragged, 16, 16);
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("seq-step--dragging"); }
    document.querySelectorAll(".seq-step--drop").forEach(function (el) {
      el.classList.remove("seq-step--drop");
    });
    dragged = null;
  });

  document.addEventListener("dragover", function (event) {
    var over = event.target.closest && event.target.closest(".seq-step");
    if (!dragged || !over) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".seq-step--drop").forEach(function (el) {
      if (el !== over) { el.classList.remove("seq-step--drop"); }
    });
    if (over !== dragged) { over.classList.add("seq-step--drop"); }
  });

  document.addEventListener("drop", function (event) {
    var over = event.target.closest && event.target.closest(".seq-step");
    if (!dragged || !over) { return; }
    event.preventDefault();
    if (over === dragged) { return; }
    var url = dragged.getAttribute("data-move-url");
    var position = over.getAttribute("data-position");
    window.htmx.ajax("POST", url, {
      target: "#seq-flow",
      select: "#seq-flow",
      swap: "outerHTML",
      values: { position: position },
      headers: { "X-CSRFToken": csrf() }
    });
  });

  document.addEventListener("htmx:afterSettle", function () { conditions(document); });
  document.addEventListener("htmx:beforeSwap", function (event) {
    // A refused move or invalid step comes back as 422 with the flow and its message.
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  conditions(document);
})();
