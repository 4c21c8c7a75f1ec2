// On a phone the tables stack each row's cells (site.css, under 40rem) and their column
// headings are hidden: each cell gets its column's heading as data-label, which the
// stylesheet shows before the cell's text. No inline script (CSP); without JavaScript
// the cells stack without their labels, as before.
(function () {
  "use strict";
  var tables = document.querySelectorAll("table");
  for (var t = 0; t < tables.length; t += 1) {
    var head = tables[t].tHead && tables[t].tHead.rows[0];
    if (!head) {
      continue;
    }
    var names = [];
    for (var h = 0; h < head.cells.length; h += 1) {
      var text = head.cells[h].textContent.replace(/\s+/g, " ").trim();
      for (var span = 0; span < head.cells[h].colSpan; span += 1) {
        names.push(text);
      }
    }
    var bodies = tables[t].tBodies;
    for (var b = 0; b < bodies.length; b += 1) {
      for (var r = 0; r < bodies[b].rows.length; r += 1) {
        var column = 0;
        var cells = bodies[b].rows[r].cells;
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
