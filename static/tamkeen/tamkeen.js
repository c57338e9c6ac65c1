/* Tamkeen's page handlers. The Content-Security-Policy runs no inline script and no on*=
   attribute, so the pages mark elements with data-tamkeen-* attributes and this file
   handles them. The listeners sit on the document, once: they keep working when Turbo
   swaps the page's body. */
(function () {
  "use strict";

  // <select data-tamkeen-submit-on-change>: choosing an option submits its form (the
  // language switch).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-tamkeen-submit-on-change") && field.form) {
      field.form.submit();
    }
  });

  // <a data-tamkeen-back>: back to the previous page; data-tamkeen-back="reload" then
  // reloads it, so it shows what the page just changed (viewflow's assign pages).
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element && event.target.closest("[data-tamkeen-back]");
    if (!link) {
      return;
    }
    event.preventDefault();
    window.history.back();
    if (link.getAttribute("data-tamkeen-back") === "reload" && window.Turbo) {
      window.setTimeout(function () { window.Turbo.visit("."); }, 100);
    }
  });
})();
