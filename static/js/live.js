// The live pages' side of the websockets, besides htmx's ws extension (loaded on every page).
(function () {
  "use strict";

  // The server closes a socket with 4401 when the session it was opened with ended (a logout in
  // another tab, expiry); htmx does not reconnect on that code. Say so, rather than go quiet.
  var SESSION_ENDED = 4401;
  document.addEventListener("htmx:wsClose", function (e) {
    var box = document.getElementById("ws-error");
    if (!box || !e.detail.event || e.detail.event.code !== SESSION_ENDED || box.dataset.sessionEnded) { return; }
    box.dataset.sessionEnded = "true";
    box.textContent = "Your session has ended (you logged out, or it expired): this page no longer updates. ";
    var again = document.createElement("a");
    again.href = box.dataset.loginUrl + "?next=" + encodeURIComponent(location.pathname);
    again.textContent = "Log in again";
    box.appendChild(again);
    box.hidden = false;
  });

  // The queue's tab title leads with the pending count, "(3) Approvals", kept as the nav count changes.
  document.addEventListener("htmx:wsAfterMessage", function () {
    var count = document.getElementById("pending-count");
    if (!count || !document.getElementById("approval-rows")) { return; }
    var n = parseInt(count.textContent, 10) || 0;
    document.title = (n ? "(" + n + ") " : "") + document.title.replace(/^\(\d+\) /, "");
  });

  // The queue's announcement is said again whenever its text is swapped in: only a changed one is.
  document.addEventListener("htmx:oobBeforeSwap", function (e) {
    if (e.detail.target.id === "queue-announce" && e.detail.fragment.textContent === e.detail.target.textContent) {
      e.detail.shouldSwap = false;
    }
  });

  // A run's page, or an approval request's page, which listens on its run's socket.
  var live = document.getElementById("run-live") || document.getElementById("approval-live");
  if (!live) { return; }

  // On every (re)connect, and every 5 s as a safety net for a lost nudge, tell the server the last
  // event this page shows: it answers only with newer ones, so nothing is shown twice. An approval
  // page shows no timeline: its state section says the last event it reflects and the request's status.
  var socket = null;
  function hello() {
    var items = document.querySelectorAll("#timeline > li[data-seq]");
    var after = items.length ? parseInt(items[items.length - 1].dataset.seq, 10) : 0;
    var message = {type: "hello", after: after};
    var approval = document.getElementById("approval-state");
    if (approval) {
      message.after = parseInt(approval.dataset.seq, 10) || 0;
      message.approval = approval.dataset.approvalStatus;
    }
    if (socket) { socket.send(JSON.stringify(message)); }
  }
  live.addEventListener("htmx:wsOpen", function (e) { socket = e.detail.socketWrapper; hello(); });
  live.addEventListener("htmx:wsClose", function () { socket = null; });
  setInterval(hello, 5000);

  // A piece of streamed text names the model's text it belongs to. Pieces and updates can arrive in
  // either order; one that arrives once the timeline shows its text whole, or once the run ended,
  // would show the answer a second time under it, so it is dropped.
  document.addEventListener("htmx:oobBeforeSwap", function (e) {
    var piece = e.detail.fragment;
    if (e.detail.target.id !== "streaming-text" || !(piece instanceof Element) || !piece.hasAttribute("data-delta")) {
      return;
    }
    var item = piece.getAttribute("data-item");
    var whole = item && document.querySelector('#timeline > li[data-item="' + CSS.escape(item) + '"]');
    if (whole || document.querySelector("#run-status[data-final]")) { e.detail.shouldSwap = false; }
  });
})();
