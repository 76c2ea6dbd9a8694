// Live countdowns, for any page (spec 4.6). Our own code, no library.
//
// Every <time class="countdown" data-deadline="ISO" data-h="小时" data-m="分钟" data-s="秒"
// data-past="已超时"> (rendered by {% countdown %}, core/templatetags/countdown.py) shows the
// time left in the page's language and ticks every second; its row (the closest
// [data-countdown-row], else <tr>, else the element itself) gets `due-soon` at 12 h or less,
// `due-urgent` at 2 h or less and `overdue` past the deadline. The server renders the same
// text and classes, so a page without JavaScript shows them as of its loading.

(function () {
  "use strict";
  var HOUR = 3600, SOON = 12 * HOUR, URGENT = 2 * HOUR;
  var CLASSES = ["due-soon", "due-urgent", "overdue"];

  function text(el, seconds) {
    var d = el.dataset;
    if (seconds < 0) return d.past;
    var h = Math.floor(seconds / HOUR), m = Math.floor((seconds % HOUR) / 60), s = seconds % 60;
    return h > 0 ? h + " " + d.h + " " + m + " " + d.m : m + " " + d.m + " " + s + " " + d.s;
  }

  function level(seconds) {
    if (seconds < 0) return "overdue";
    if (seconds <= URGENT) return "due-urgent";
    if (seconds <= SOON) return "due-soon";
    return "";
  }

  function mark(target, cls) {
    CLASSES.forEach(function (c) { target.classList.toggle(c, c === cls); });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var deadline = Date.parse(el.dataset.deadline);
      if (isNaN(deadline)) return;
      var ms = deadline - now;
      var seconds = ms < 0 ? -1 : Math.floor(ms / 1000);
      var label = text(el, seconds);
      if (el.textContent !== label) el.textContent = label;
      var cls = level(seconds);
      mark(el, cls);
      var row = el.closest("[data-countdown-row]") || el.closest("tr");
      if (row) mark(row, cls);
    });
  }

  function start() {
    tick();
    setInterval(tick, 1000);
    // Rows htmx swapped in (a polled list) tick at once, not a second later.
    document.body.addEventListener("htmx:afterSwap", tick);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
