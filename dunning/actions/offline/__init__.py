"""Offline dunning: customers who pay outside Chargebee (``auto_collection`` off)."""
