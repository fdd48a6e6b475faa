// The run page's catch-up: on every (re)connect of its websocket, and every 5 s as a safety net
// for a lost nudge, tell the server the last event this page shows: it answers only with newer
// ones, so nothing is shown twice. A file, not an inline script: the Content-Security-Policy
// allows only the site's own script files.
(function () {
  var live = document.getElementById("run-live"), socket = null;
  if (!live) { return; }
  function hello() {
    var items = document.querySelectorAll("#timeline > li[data-seq]");
    var after = items.length ? parseInt(items[items.length - 1].dataset.seq, 10) : 0;
    if (socket) { socket.send(JSON.stringify({type: "hello", after: after})); }
  }
  live.addEventListener("htmx:wsOpen", function (e) { socket = e.detail.socketWrapper; hello(); });
  live.addEventListener("htmx:wsClose", function () { socket = null; });
  setInterval(hello, 5000);
})();
