/* The pipeline board: drag a deal card onto another stage's column (native HTML5 drag and
 * drop) or use the card's "move to" select; either posts the move with the card's version.
 * The server answers with the board as it now is, which replaces the columns: on success the
 * card sits in its new stage; when someone else moved the deal first (409) the notice says so
 * and the card shows where it really is; when the move needs more (422) the notice says why,
 * and a move to a lost stage opens the reason dialog, which posts the move again with the
 * reason. Nothing is kept in the browser that the server did not confirm. No dependencies. */
(function () {
  "use strict";

  var root = document.getElementById("deal-board");
  if (!root) { return; }
  var dialog = document.getElementById("deal-lost-dialog");
  var dragged = null;

  function notice(text) {
    var box = root.querySelector("[data-board-notice]");
    if (!box) {
      box = document.createElement("p");
      box.className = "board-notice board-notice--error";
      box.setAttribute("role", "alert");
      box.setAttribute("data-board-notice", "");
      root.insertBefore(box, root.firstChild);
    }
    box.textContent = text;
  }

  function request(method, url, data) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "X-Board-Partial": "1", "X-CSRFToken": root.dataset.csrf }
    };
    if (data) {
      var body = new URLSearchParams();
      Object.keys(data).forEach(function (key) { body.append(key, data[key]); });
      options.body = body;
    }
    // The page's filters (pipeline, owner, search) travel along, so the answer is this board.
    return fetch(url + window.location.search, options);
  }

  function refresh() {
    return request("GET", root.dataset.boardUrl).then(function (response) {
      if (response.ok) { return response.text().then(function (html) { root.innerHTML = html; }); }
      notice(root.dataset.errorText);
    });
  }

  function openLostDialog(url, stage, version) {
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    var form = dialog.querySelector("form");
    form.dataset.url = url;
    form.dataset.stage = stage;
    form.dataset.version = version;
    form.reset();
    dialog.showModal();
  }

  function move(url, stage, version, extra) {
    var data = { stage: stage, version: version };
    Object.keys(extra || {}).forEach(function (key) { data[key] = extra[key]; });
    root.setAttribute("aria-busy", "true");
    return request("POST", url, data)
      .then(function (response) {
        var known = response.status === 200 || response.status === 409 || response.status === 422;
        if (!known) {
          notice(root.dataset.errorText);
          return refresh();
        }
        return response.text().then(function (html) {
          root.innerHTML = html;
          if (response.status === 422 && response.headers.get("X-Deal-Needs") === "lost_reason") {
            openLostDialog(url, stage, version);
          }
        });
      })
      .catch(function () {
        notice(root.dataset.errorText);
        return refresh();
      })
      .then(function () { root.removeAttribute("aria-busy"); });
  }

  // --- Drag and drop --------------------------------------------------------------------------

  function columnOf(node) { return node && node.closest ? node.closest("[data-dropzone]") : null; }

  root.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".deal-card") : null;
    if (!card) { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
    card.classList.add("is-dragging");
  });

  root.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); }
    dragged = null;
    root.querySelectorAll(".is-over").forEach(function (col) { col.classList.remove("is-over"); });
  });

  root.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("is-over");
  });

  root.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("is-over"); }
  });

  root.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) { return; }
    event.preventDefault();
    column.classList.remove("is-over");
    var card = dragged;
    dragged = null;
    card.classList.remove("is-dragging");
    if (column.dataset.stage === card.dataset.stage) { return; }
    // Shown at once where it was dropped; the server's answer then redraws the board.
    var list = column.querySelector("[data-cards]");
    var empty = list.querySelector("[data-empty]");
    if (empty) { empty.remove(); }
    list.appendChild(card);
    move(card.dataset.moveUrl, column.dataset.stage, card.dataset.version);
  });

  // --- The keyboard way: a card's "move to" form ---------------------------------------------

  root.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-move-form]");
    if (!form) { return; }
    event.preventDefault();
    var stage = form.elements.stage.value;
    if (!stage) { return; }
    move(form.getAttribute("action").split("?")[0], stage, form.elements.version.value);
  });

  // --- The reason dialog of a lost deal -------------------------------------------------------

  if (dialog) {
    var lostForm = dialog.querySelector("form");
    lostForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var reason = lostForm.elements.lost_reason.value;
      if (!reason) {
        lostForm.elements.lost_reason.focus();
        return;
      }
      dialog.close();
      move(lostForm.dataset.url, lostForm.dataset.stage, lostForm.dataset.version, {
        lost_reason: reason,
        note: lostForm.elements.note.value
      });
    });
    dialog.querySelector("[data-dialog-cancel]").addEventListener("click", function () {
      dialog.close();
    });
  }
})();
