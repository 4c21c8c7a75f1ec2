// On a phone the tables stack each row's cells (site.css, under 40rem) and their column
// headings are hidden: each cell gets its column's heading as data-label, which the
// stylesheet shows before the cell's text (footer rows too). No inline script (CSP);
// without JavaScript the cells stack without their labels, as before. No table here
// uses rowspan; a row's columns are counted by colspan only.
(function () {
  "use strict";
  // A heading's text as a sighted reader sees it: a column headed only for screen
  // readers ("Actions" in .visually-hidden) gets no label on screen.
  function shown(cell) {
    if (cell.classList.contains("visually-hidden")) {
      return "";
    }
    var copy = cell.cloneNode(true);
    var hidden = copy.querySelectorAll(".visually-hidden");
    for (var i = 0; i < hidden.length; i += 1) {
      hidden[i].parentNode.removeChild(hidden[i]);
    }
    return copy.textContent.replace(/\s+/g, " ").trim();
  }
  var tables = document.querySelectorAll("table");
  for (var t = 0; t < tables.length; t += 1) {
    var head = tables[t].tHead && tables[t].tHead.rows[0];
    if (!head) {
      continue;
    }
    var names = [];
    for (var h = 0; h < head.cells.length; h += 1) {
      for (var span = 0; span < head.cells[h].colSpan; span += 1) {
        names.push(shown(head.cells[h]));
      }
    }
    var groups = Array.prototype.slice.call(tables[t].tBodies);
    if (tables[t].tFoot) {
      groups.push(tables[t].tFoot);
    }
    for (var b = 0; b < groups.length; b += 1) {
      for (var r = 0; r < groups[b].rows.length; r += 1) {
        var column = 0;
        var cells = groups[b].rows[r].cells;
        for (var c = 0; c < cells.length; c += 1) {
          var name = names[column];
          if (cells[c].tagName === "TD" && name && cells[c].colSpan === 1) {
            cells[c].setAttribute("data-label", name);
          }
          column += cells[c].colSpan;
        }
      }
    }
  }
})();
