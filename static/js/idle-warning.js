// Warns before the server's idle timeout and signs out when it runs out. No inline
// script: the timeout comes from <body data-idle-timeout>, the forms from the page, and
// every word from the page too (the unit's translations in #idle-unit data-one/data-other).
// The server enforces the limit anyway (SessionLifetimeMiddleware); this only makes it
// visible, offers "Stay signed in" (a POST that renews the timer) and leaves a page
// that shows nothing once the time is up.
(function () {
  "use strict";
  var timeout = parseInt(document.body.getAttribute("data-idle-timeout") || "0", 10);
  var dialog = document.getElementById("idle-warning");
  if (!timeout || !dialog) {
    return;
  }
  var lead = Math.min(60, Math.floor(timeout / 2));
  var margin = Math.min(5, Math.floor(timeout / 6)); // sign out just before the server would
  var countdown = document.getElementById("idle-countdown");
  var unit = document.getElementById("idle-unit");
  var stay = document.getElementById("idle-stay");
  var keepalive = document.getElementById("idle-keepalive");
  var signout = document.getElementById("idle-signout");
  var lastRequest = Date.now();
  var returnFocus = null;

  function show() {
    returnFocus = document.activeElement;
    dialog.hidden = false;
    stay.focus();
  }

  function hide() {
    dialog.hidden = true;
    if (returnFocus && returnFocus.focus) {
      returnFocus.focus();
    }
  }

  function tick() {
    var idle = (Date.now() - lastRequest) / 1000;
    var left = Math.ceil(timeout - margin - idle);
    if (left <= 0) {
      signout.submit();
      return;
    }
    if (timeout - idle <= lead) {
      if (dialog.hidden) {
        show();
      }
      countdown.textContent = String(left);
      if (unit) {
        unit.textContent = unit.getAttribute(left === 1 ? "data-one" : "data-other") || "";
      }
    }
    window.setTimeout(tick, 1000);
  }

  stay.addEventListener("click", function () {
    window
      .fetch(keepalive.action, {
        method: "POST",
        body: new FormData(keepalive),
        credentials: "same-origin",
        redirect: "manual", // an ended session answers with a redirect: not a success
      })
      .then(function (response) {
        if (response.status === 204) {
          lastRequest = Date.now();
          hide();
        } else {
          window.location.reload(); // the session already ended: show the sign-in page
        }
      });
  });

  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      stay.click();
    }
  });

  window.setTimeout(tick, 1000);
})();
