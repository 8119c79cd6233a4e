"""Dunning-sequence experiments: design, assignment, analysis, promotion."""
