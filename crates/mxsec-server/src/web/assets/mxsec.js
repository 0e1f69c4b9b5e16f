// mxsec web checker: small improvements when JavaScript runs. The page works without it:
// the form posts, and the report streams in as plain HTML.
"use strict";
(function () {
  var report = document.getElementById("report");
  var form = document.querySelector("form.check");
  var input = document.getElementById("domain");

  // Go straight to the permalink instead of posting the form (one round trip less). The
  // server validates the name all the same.
  if (form && input) {
    form.addEventListener("submit", function (event) {
      var value = input.value.trim();
      if (value === "" || /[\/?#\\]/.test(value)) {
        return; // let the server explain what is wrong
      }
      event.preventDefault();
      window.location.assign("/check/" + encodeURIComponent(value));
    });
  }

  if (!report) {
    return;
  }
  // While the checks run, count the seconds in the status line.
  var pending = report.querySelector(".pending");
  var started = Date.now();
  var clock = null;
  if (pending) {
    clock = document.createElement("span");
    clock.className = "clock";
    pending.appendChild(document.createTextNode(" "));
    pending.appendChild(clock);
  }
  var timer = window.setInterval(function () {
    var verdict = document.getElementById("verdict");
    if (verdict) {
      window.clearInterval(timer);
      // Put the verdict first in the document too, so that screen readers meet it first,
      // and move focus to it.
      report.insertBefore(verdict, report.firstChild);
      verdict.setAttribute("tabindex", "-1");
      verdict.focus({ preventScroll: true });
      var heading = verdict.querySelector("h2");
      if (heading) {
        document.title = heading.textContent + " · mxsec";
      }
      return;
    }
    if (clock) {
      clock.textContent = "(" + Math.round((Date.now() - started) / 1000) + " s)";
    }
  }, 250);
})();
