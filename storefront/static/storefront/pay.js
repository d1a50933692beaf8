// Pays an order by card in Stripe's Payment Element. Stripe.js (loaded from
// js.stripe.com, as Stripe requires) collects the card; 3-D Secure and redirect
// methods come back to the order page, which then asks Stripe for the result.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form) return;
  var message = document.getElementById("payment-message");
  var button = document.getElementById("pay-button");

  function show(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  if (typeof window.Stripe !== "function") {
    show(form.dataset.error);
    return;
  }
  var stripe = window.Stripe(form.dataset.stripeKey, { locale: form.dataset.locale || "auto" });
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  var payment = elements.create("payment");
  payment.mount("#payment-element");
  payment.on("ready", function () {
    button.disabled = false;
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    show("");
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.returnUrl } })
      .then(function (result) {
        // Only reached when the payment could not be made: a redirect happens otherwise.
        if (result.error) show(result.error.message);
        button.disabled = false;
      });
  });
})();
