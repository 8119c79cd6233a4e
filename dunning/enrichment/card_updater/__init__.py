"""Asking the gateway's account updater whether a declined card has a newer version.

``answers`` holds the plain values, ``adapters`` the sandbox-default and HTTP adapters
(interface in docs/card_updater.md), ``lookup`` the cached, fail-soft question a decision
asks before it would ask the customer for a new card.
"""
