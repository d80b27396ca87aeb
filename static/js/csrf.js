// Every request carries the CSRF token the browser holds now, not the one the page was
// rendered with: logging in or out in another tab replaces the cookie, and a token frozen
// into the page would then be refused.
(function () {
  "use strict";

  function currentToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = currentToken();
    if (!token) return;
    event.detail.headers["X-CSRFToken"] = token;
    // Django reads a form's own token before the header: keep the two the same.
    var parameters = event.detail.parameters;
    if (parameters && parameters.has && parameters.has("csrfmiddlewaretoken")) {
      parameters.set("csrfmiddlewaretoken", token);
    }
  });

  // Plain form posts (logging out, forms without htmx) refresh their hidden token too.
  document.addEventListener(
    "submit",
    function (event) {
      var token = currentToken();
      var form = event.target;
      if (!token || !form || !form.querySelectorAll) return;
      form.querySelectorAll('input[name="csrfmiddlewaretoken"]').forEach(function (input) {
        input.value = token;
      });
    },
    true
  );
})();
