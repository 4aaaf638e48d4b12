// wirehose web: the little the page does in the browser. Served as a file: the page's
// Content-Security-Policy allows no inline script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Forms that undo something ask first (data-confirm holds the question).
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }

  // "/" jumps to the search box, as on most search pages.
  const box = document.getElementById("q");
  if (box) {
    document.addEventListener("keydown", (event) => {
      const typing = event.target instanceof HTMLInputElement ||
        event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLSelectElement;
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    });
  }

  // Blank filter boxes would only clutter the address: leave them out of the search.
  const search = document.querySelector("form.search");
  if (search) {
    search.addEventListener("submit", () => {
      for (const field of search.querySelectorAll("input:not([type=hidden])")) {
        if (!field.value.trim()) {
          field.disabled = true;
        }
      }
    });
  }
});
