"""Rules a real database keeps, found in its data and kept in its twin.

See :mod:`synthdb.rules.model` for what a rule is.
"""
