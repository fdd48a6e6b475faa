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

  var live = document.getElementById("run-live");
  if (!live) { return; }

  // On every (re)connect, and every 5 s as a safety net for a lost nudge, tell the server the last
  // event this page shows: it answers only with newer ones, so nothing is shown twice.
  var socket = null;
  function hello() {
    var items = document.querySelectorAll("#timeline > li[data-seq]");
    var after = items.length ? parseInt(items[items.length - 1].dataset.seq, 10) : 0;
    if (socket) { socket.send(JSON.stringify({type: "hello", after: after})); }
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
