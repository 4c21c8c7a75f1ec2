// A "Print" button: any <button data-print> prints the page. No inline script (CSP). The
// button is hidden until this runs, so a page without JavaScript offers no dead button.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-print]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
