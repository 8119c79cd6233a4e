"""Reaching customers: drafting messages and delivering them on a channel."""
