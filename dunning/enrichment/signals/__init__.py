"""Signals from outside Chargebee (helpdesk, product usage, CRM) for the decisions."""
