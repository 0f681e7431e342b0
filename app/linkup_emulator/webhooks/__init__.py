"""Webhooks: subscriptions (subscriptions.py), the vendor's signature (signing.py), events from
the graph (events.py), their delivery off the request path (delivery.py) and the v2 routes'
behaviour (service.py)."""
