// Enhancement only: a button that copies the tracking number. Without JavaScript, or where
// the browser cannot write to the clipboard, the button stays hidden and the number is text.
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) {
    return;
  }
  document.querySelectorAll("button[data-copy-from]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy-from"));
    var status = button.parentNode.querySelector(".copy-status");
    if (!source) {
      return;
    }
    var label = button.textContent;
    var timer = null;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied-label");
        if (status) {
          status.textContent = button.getAttribute("data-copied-label");
        }
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          button.textContent = label;
          if (status) {
            status.textContent = "";
          }
        }, 2500);
      });
    });
  });
})();
