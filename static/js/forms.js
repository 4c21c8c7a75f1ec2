// Helps a person fix a form. No inline script (the CSP forbids it), and no English here:
// every phrase comes from the page (data- attributes written by translated templates).
// - The error summary (components/errors.html) takes focus when the page loads, so a
//   screen reader reads it and the person sees it at once; its links move focus to the
//   field they name.
// - A text limit (data-maxlength, written instead of maxlength so a paste is never cut
//   silently) shows "n of N characters" as the person types. The server still refuses
//   text over the limit and keeps it in the form.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) {
        return;
      }
      event.preventDefault();
      var label = document.querySelector("label[for='" + target.id + "']");
      (label || target).scrollIntoView();
      target.focus();
    });
  }
  document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var input = document.getElementById(counter.getAttribute("data-counter-for"));
    var text = counter.getAttribute("data-counter-text") || "";
    var limit = parseInt(input ? input.getAttribute("data-maxlength") || "0" : "0", 10);
    if (!input || !limit || text.indexOf("{used}") < 0) {
      return;
    }
    var update = function () {
      counter.textContent = text.replace("{used}", String(input.value.length));
      counter.classList.toggle("over", input.value.length > limit);
    };
    input.addEventListener("input", update);
    update();
  });
})();
