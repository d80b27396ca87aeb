// Presenter view shortcuts: F full screen, H hide the bars here, Q the QR code,
// R reveal to everyone (owner), ? the list of shortcuts, Esc closes it.
(function () {
  "use strict";

  var stage = document.querySelector("[data-present]");
  if (!stage) return;
  var help = document.getElementById("shortcuts");
  var helpToggle = document.querySelector("[data-shortcuts-toggle]");
  var status = document.getElementById("present-status");

  function say(text) {
    if (status) status.textContent = text;
  }

  function toggleHelp(show) {
    var open = show === undefined ? help.hidden : show;
    help.hidden = !open;
    if (helpToggle) helpToggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function toggleFlag(name, shownText, hiddenText) {
    var on = stage.toggleAttribute(name);
    say(on ? hiddenText : shownText);
  }

  if (helpToggle) {
    helpToggle.addEventListener("click", function () {
      toggleHelp();
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var key = event.key;
    if (key === "?") {
      toggleHelp();
    } else if (key === "Escape") {
      toggleHelp(false);
    } else if (key === "f" || key === "F") {
      if (document.fullscreenElement) {
        document.exitFullscreen();
      } else if (document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(function () {});
      }
    } else if (key === "h" || key === "H") {
      toggleFlag("data-bars-hidden", "Results shown on this screen.", "Results hidden on this screen.");
    } else if (key === "q" || key === "Q") {
      toggleFlag("data-qr-hidden", "QR code shown.", "QR code hidden.");
    } else if (key === "r" || key === "R") {
      var reveal = document.querySelector("[data-reveal]");
      if (reveal) reveal.click();
    } else {
      return;
    }
    event.preventDefault();
  });
})();
