"""Cart, checkout, orders and their lifecycle, returns."""
