// Small page behaviours, kept out of the templates so the Content-Security-Policy can
// forbid inline script and eval: every element opts in with a data- attribute.
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function suggestTimeZones(root) {
    var zone = browserZone();
    if (!zone) return;
    // A text field left empty gets the browser's zone (the create form).
    root.querySelectorAll("[data-local-timezone]").forEach(function (field) {
      if (!field.value) field.value = zone;
    });
    // Until quiet hours are set, a zone list suggests the browser's zone instead of UTC.
    root.querySelectorAll("select[data-browser-timezone]").forEach(function (select) {
      if (select.querySelector('option[value="' + zone + '"]')) select.value = zone;
    });
  }

  document.addEventListener("click", function (event) {
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      dismiss.parentElement.remove();
      return;
    }
    var back = event.target.closest("[data-history-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // Share fields select their whole text when focused, ready to copy.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
      event.target.select();
    }
  });

  // Enter in the question goes on to the first option instead of sending a half-filled
  // form: a poll is not ready before it has its options.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    var field = event.target;
    if (!field.matches || !field.matches("[data-enter-next]")) return;
    var next = field.form && field.form.querySelector(field.getAttribute("data-enter-next"));
    if (!next || next.disabled || next.readOnly) return;
    event.preventDefault();
    next.focus();
  });

  // "+ Add option" asks for the next field's number: one more than the fields shown.
  document.addEventListener("htmx:configRequest", function (event) {
    var source = event.detail.elt;
    var selector = source && source.getAttribute("data-count-fields");
    if (selector) {
      event.detail.parameters.n = document.querySelectorAll(selector).length + 1;
    }
  });

  document.addEventListener("htmx:load", function (event) {
    suggestTimeZones(event.detail.elt);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { suggestTimeZones(document); });
  } else {
    suggestTimeZones(document);
  }
})();
