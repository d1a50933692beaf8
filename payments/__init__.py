"""Payment gateways, transactions, refunds and webhooks."""
