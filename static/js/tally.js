// Live tallies: keep the newest state, animate the bars, fall back to polling offline.
(function () {
  "use strict";

  var pendingWidths = null;

  function version(element) {
    return element && element.dataset ? Number(element.dataset.version || 0) : 0;
  }

  // A push or a poll answer carries the version of the state it shows; never go back in time.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (target.id !== "tally" || !incoming) return;
    if (version(incoming) && version(incoming) < version(target)) {
      event.detail.shouldSwap = false;
      return;
    }
    pendingWidths = {};
    target.querySelectorAll("[data-bar]").forEach(function (bar) {
      pendingWidths[bar.dataset.bar] = bar.style.width;
    });
  });

  // A swapped-in element is new, so CSS transitions would not run: start each bar from its
  // old width and let the browser animate to the new one.
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!pendingWidths) return;
    var widths = pendingWidths;
    pendingWidths = null;
    document.querySelectorAll("#tally [data-bar]").forEach(function (bar) {
      var target = bar.style.width;
      var from = widths[bar.dataset.bar];
      if (from === undefined || from === target) return;
      bar.style.width = from;
      void bar.offsetWidth;
      bar.style.width = target;
    });
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "tally" && event.detail.serverResponse) {
      var holder = document.createElement("div");
      holder.innerHTML = event.detail.serverResponse;
      var incoming = holder.querySelector("#tally");
      if (incoming && version(incoming) < version(target)) event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("htmx:wsOpen", function () {
    document.body.dataset.live = "on";
  });
  document.addEventListener("htmx:wsClose", function () {
    delete document.body.dataset.live;
  });

  // Bell toasts: dismissed by their button, gone by themselves after a while, three at most.
  var TOAST_SECONDS = 8;
  var TOASTS_SHOWN = 3;

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss]");
    if (button && button.closest("[data-toast]")) button.closest("[data-toast]").remove();
  });

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "toasts") return;
    var toasts = target.querySelectorAll("[data-toast]");
    for (var i = 0; i < toasts.length - TOASTS_SHOWN; i++) toasts[i].remove();
    target.querySelectorAll("[data-toast]:not([data-timed])").forEach(function (toast) {
      toast.dataset.timed = "true";
      setTimeout(function () {
        toast.remove();
      }, TOAST_SECONDS * 1000);
    });
  });

  // The notification list follows the badge: when the unread count changes (a new
  // notification, or reading in another tab), the list on this page is fetched again.
  var badgeOnLoad = document.getElementById("bell-badge");
  var shownUnread = badgeOnLoad ? badgeOnLoad.dataset.unread : null;
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    // detail.target is the replaced element: read the badge now in the page.
    if (!event.detail.target || event.detail.target.id !== "bell-badge") return;
    var unread = document.getElementById("bell-badge").dataset.unread;
    var changed = shownUnread !== null && unread !== shownUnread;
    shownUnread = unread;
    if (changed && document.getElementById("inbox")) {
      htmx.ajax("GET", window.location.pathname + window.location.search, {
        target: "#inbox",
        swap: "outerHTML",
      });
    }
  });
})();
