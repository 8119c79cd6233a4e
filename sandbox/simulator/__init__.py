"""A simulated subscription business that drives the sandbox like a real Chargebee site."""
