// Shows a record package's build progress while it runs. No inline script (CSP): the
// status URL comes from <div id="build-progress" data-status-url>. It polls once a second,
// updates the <progress> bar and its aria-live text, and reloads the page when the build
// is done or failed. Without JavaScript the page shows the state and a refresh link.
(function () {
  "use strict";
  var box = document.getElementById("build-progress");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("build-progress-bar");
  var text = document.getElementById("build-progress-text");
  var stateLabel = document.getElementById("build-state");
  var labels = { queued: "Waiting to build", building: "Building" };
  // Polling is activity for the server's idle timer: stop after the longest build (the
  // lease) so an open tab does not keep a session alive forever.
  var deadline = Date.now() + 15 * 60 * 1000;
  var lastText = text ? text.textContent : "";

  function show(status) {
    var total = Math.max(status.total || 0, 1);
    if (bar) {
      bar.max = total;
      bar.value = Math.min(status.done || 0, total);
      bar.textContent = status.done + " of " + status.total;
    }
    if (stateLabel && labels[status.state]) {
      stateLabel.textContent = labels[status.state];
    }
    var message = status.done + " of " + status.total + " documents done.";
    if (text && message !== lastText) {
      text.textContent = message; // aria-live announces only a change
      lastText = message;
    }
  }

  function poll() {
    if (Date.now() > deadline) {
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        if (status.state === "queued" || status.state === "building") {
          show(status);
          window.setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        // Signed out or offline: leave the refresh link to the person.
      });
  }

  window.setTimeout(poll, 1000);
})();
