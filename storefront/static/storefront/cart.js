/* Small enhancements of the cart and checkout pages; every page works without them.
 * - The header's "Cart" link shows the number of units from the kervan_cart_count
 *   cookie (cached pages cannot carry one visitor's count).
 * - Address forms re-render for the chosen country as soon as it changes.
 * - The "Place order" form is sent once, even on a double click. */
(function () {
  "use strict";

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function showCartCount() {
    var count = parseInt(cookie("kervan_cart_count"), 10);
    var text = count > 0 ? " (" + count + ")" : "";
    document.querySelectorAll("[data-cart-count]").forEach(function (element) {
      element.textContent = text;
    });
  }

  function refreshOnChange() {
    document.querySelectorAll("[data-refresh]").forEach(function (field) {
      var form = field.form;
      var button = field.parentNode.querySelector("button[name=refresh]");
      if (!button) {
        return;
      }
      button.hidden = true;
      field.addEventListener("change", function () {
        if (form.requestSubmit) {
          form.requestSubmit(button);
        } else {
          button.click();
        }
      });
    });
  }

  function submitOnce() {
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        window.setTimeout(function () {
          form.querySelectorAll("button[type=submit]").forEach(function (button) {
            button.disabled = true;
          });
        }, 0);
      });
    });
  }

  showCartCount();
  refreshOnChange();
  submitOnce();
  // Coming back through the browser's history shows the page as it was: count again.
  window.addEventListener("pageshow", showCartCount);
})();
