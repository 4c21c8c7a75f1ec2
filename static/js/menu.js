// The header menu (<details data-menu>): open and its button hidden on a wide screen,
// folded behind "Menu" on a phone. No inline script (CSP). Without JavaScript the "Menu"
// button works at every width.
(function () {
  "use strict";
  var menu = document.querySelector("details[data-menu]");
  if (!menu || !window.matchMedia) {
    return;
  }
  var wide = window.matchMedia("(min-width: 48rem)");
  function fit() {
    menu.open = wide.matches;
    menu.classList.toggle("menu-wide", wide.matches);
  }
  fit();
  if (wide.addEventListener) {
    wide.addEventListener("change", fit);
  }
})();
