"""Delivery regions, shipping methods and rates, customs duty, shipments and carriers."""
