// An embedded card needs its cookies to vote: a browser that keeps none for this frame
// (third-party cookies blocked) would make every vote a new voter's, so the card offers
// the poll on Tally itself instead of its form (the card's CSS hides the ballot area,
// including one a push brings later).
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var card = document.querySelector("[data-embed]");
    if (!card || card.dataset.cookies === "off") return;
    if (/(?:^|;\s*)csrftoken=/.test(document.cookie)) return;
    card.dataset.cookies = "off";
    var notice = document.getElementById("embed-no-cookies");
    if (notice) notice.hidden = false;
  });
})();
