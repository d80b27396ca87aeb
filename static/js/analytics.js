// The analytics page listens on the poll's socket only to learn that something changed:
// the pushed fragments belong to the poll page, so they are not swapped in here; the
// stats fragment fetches itself again instead (at most once a second, see hx-trigger).
(function () {
  "use strict";

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    if (!event.target.closest || !event.target.closest("[data-analytics-live]")) return;
    event.preventDefault();
    if (window.htmx) window.htmx.trigger(document.body, "tally-pushed");
  });
})();
