// Small enhancements; every page works without them. No inline script anywhere: the
// Content-Security-Policy allows only Fireline's own files.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
// Times are rendered in UTC; the title shows the reader's own zone.
function localTimes(root) {
  root.querySelectorAll("time[datetime]").forEach(function (el) {
    if (!el.title) {
      var at = new Date(el.getAttribute("datetime"));
      if (!isNaN(at)) { el.title = at.toLocaleString(); }
    }
  });
}
document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
document.addEventListener("htmx:afterSwap", function (event) { localTimes(event.target); });
