"""Connectors to the tools a team already runs (docs/connectors.md).

A feature folder: ``config`` (which adapter each interface uses and the non-secret settings,
one versioned document; credentials only from the environment or secret files), ``http``
(one way to call a vendor: timeouts, the vendor's error answers in words, health), one
module per vendor (``salesforce``, ``hubspot``, ``zendesk``, ``stripe``, ``usage_sql``),
and the Connections page (``views``, ``forms``). Vendor modules take plain values (a summary
dict, an email, a payment method id) and never import the desk: data flows one way.
"""
