"""A local Chargebee: the subset of API v2 that Dunwell uses, with state, and webhooks.

Dunwell's code never imports this package; it talks to it over HTTP through the official
``chargebee`` SDK, exactly as it would talk to a real Chargebee site.
"""
