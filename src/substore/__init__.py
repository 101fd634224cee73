"""substore: a subscriber store keyed by canonical E.164 phone numbers."""

__version__ = "0.4.0"
