// Live countdowns: <time data-countdown datetime="ISO" data-server-now="ISO"> reads "expires in 4 min 12 s",
// then "past its expiry". The server's time when it rendered the element corrects the browser's clock.
(function () {
  "use strict";

  function words(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    if (h) { return h + " h " + m + " min"; }
    return m ? m + " min " + s + " s" : s + " s";
  }

  function tick() {
    var timers = document.querySelectorAll("time[data-countdown]");
    for (var i = 0; i < timers.length; i++) {
      var el = timers[i];
      if (el.dataset.skew === undefined) {
        var serverNow = Date.parse(el.dataset.serverNow);
        el.dataset.skew = isNaN(serverNow) ? 0 : serverNow - Date.now();
      }
      var left = Math.floor((Date.parse(el.getAttribute("datetime")) - Date.now() - Number(el.dataset.skew)) / 1000);
      if (isNaN(left)) { continue; }
      el.textContent = left > 0 ? "expires in " + words(left) : "past its expiry: it expires at the next check";
    }
  }

  tick();
  setInterval(tick, 1000);
})();
