"""Carrying out approved actions in Chargebee and the channels (see executor.py)."""
