"""Integrations: the shop kept in sync with the outside world by Celery.

- ``integrations.feeds``: product feeds per market and language (Google
  Merchant Center, Meta catalogue, a generic partner XML);
- ``integrations.marketplaces``: listings, prices, stock and orders synced
  with marketplaces (Trendyol first) through a transactional outbox;
- ``integrations.erp``: the token-authenticated REST API under ``/api/v1/``
  and outgoing signed webhooks.

They sit at the top with ``storefront``: they compose the apps below and
none of those imports them.
"""
