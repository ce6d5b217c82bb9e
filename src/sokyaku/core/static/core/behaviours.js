/* Small page behaviours declared in the markup, so pages need no inline event handlers (the
   Content-Security-Policy allows none):
   - <select data-autosubmit> submits its form when the choice changes;
   - <form data-confirm="question"> asks the question before it is submitted;
   - an htmx element with data-refresh-form sends "refresh" to its form after each request;
   - <button data-copy-from="id"> copies the value of the field with that id to the clipboard
     and shows the [data-copied] note beside it. */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-confirm]")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-from]") : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-from"));
    if (!field) return;
    field.select();
    var note = button.parentNode.querySelector("[data-copied]");
    var done = function () { if (note) note.hidden = false; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        document.execCommand("copy");
        done();
      });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var element = event.detail && event.detail.elt;
    if (element && element.matches && element.matches("[data-refresh-form]") && element.form) {
      window.htmx.trigger(element.form, "refresh");
    }
  });
})();
