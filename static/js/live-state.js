// A poll page follows its poll: pushed state replaces the ballot area only when it shows
// something else, and after a vote, change or withdrawal focus moves to the outcome.
(function () {
  "use strict";

  // A push that shows the same ballot area (the same form) must not reset what is typed.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (!target || target.id !== "ballot" || !incoming) return;
    if (incoming.dataset.state === target.dataset.state) event.detail.shouldSwap = false;
  });

  // Screen readers hear the outcome, and keyboard users continue from it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "vote-panel") return;
    var panel = document.getElementById("vote-panel");
    var outcome = panel && panel.querySelector("[data-outcome]");
    if (outcome) outcome.focus();
  });
})();
