/* Small page behaviours declared in the markup, so pages need no inline event handlers (the
   Content-Security-Policy allows none):
   - <select data-autosubmit> submits its form when the choice changes;
   - <form data-confirm="question"> asks the question before it is submitted;
   - an htmx element with data-refresh-form sends "refresh" to its form after each request. */
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

  document.addEventListener("htmx:afterRequest", function (event) {
    var element = event.detail && event.detail.elt;
    if (element && element.matches && element.matches("[data-refresh-form]") && element.form) {
      window.htmx.trigger(element.form, "refresh");
    }
  });
})();
