// After a fresh second factor the person is back on the page they came from; start the
// download they asked for, once (the link stays for another try).
document.addEventListener("DOMContentLoaded", function () {
  var link = document.querySelector("a[data-pending-download]");
  if (link) {
    link.click();
  }
});
