// "Ask this poll": enable the form while its socket is open; never leave an answer hanging.
(function () {
  "use strict";

  document.querySelectorAll("[data-ask]").forEach(function (ask) {
    var fieldset = ask.querySelector("[data-ask-fieldset]");

    // These events belong to this socket, not to the live tally's: keep them here.
    ask.addEventListener("htmx:wsOpen", function (event) {
      event.stopPropagation();
      fieldset.disabled = false;
    });
    ask.addEventListener("htmx:wsClose", function (event) {
      event.stopPropagation();
      fieldset.disabled = true;
      var status = ask.querySelector("#answer-status[data-state='answering']");
      if (status) {
        status.dataset.state = "failed";
        status.setAttribute("role", "alert");
        status.textContent = "The connection was lost before the answer finished. Ask again once it is back.";
      }
      var submit = ask.querySelector("#ask-submit");
      if (submit) {
        submit.disabled = false;
        submit.removeAttribute("aria-disabled");
        submit.textContent = "Ask";
      }
    });
  });
})();
