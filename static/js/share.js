// The share page (and a circle's invite link): copy the link or the embed code, and the
// system share sheet where the browser has one. Without JavaScript the fields stay
// selectable and the buttons hidden. Copy buttons that htmx swaps in are set up too.
(function () {
  "use strict";

  function setUpCopyButtons(root) {
    root.querySelectorAll("[data-copy]:not([data-copy-ready])").forEach(setUpCopy);
  }

  function setUpCopy(button) {
    if (!navigator.clipboard) return;
    button.dataset.copyReady = "";
    var field = document.querySelector(button.dataset.copy);
    var status = document.querySelector(button.dataset.copyStatus || "#copy-status");
    if (!field || !status) return;
    var label = button.textContent;
    var timer = null;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(
        function () {
          status.textContent = button.dataset.copied || "Copied.";
          button.textContent = "Copied";
          clearTimeout(timer);
          timer = setTimeout(function () {
            button.textContent = label;
          }, 2000);
        },
        function () {
          field.focus();
          field.select();
          status.textContent = "Press Ctrl+C (⌘C on a Mac) to copy.";
        }
      );
    });
  }

  setUpCopyButtons(document);
  document.addEventListener("htmx:load", function (event) {
    setUpCopyButtons(event.target);
  });

  document.querySelectorAll("[data-share-url]").forEach(function (button) {
    var data = { title: button.dataset.shareTitle, url: button.dataset.shareUrl };
    if (!navigator.share || (navigator.canShare && !navigator.canShare(data))) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.share(data).catch(function () {
        // Dismissed by the user, or not allowed here: the link field is still there.
      });
    });
  });
})();
