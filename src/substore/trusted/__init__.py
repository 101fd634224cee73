"""Trusted documents: the GraphQL documents a client app was built with, registered from
its persisted-documents manifest (manifest.py) by `substore documents` (command.py)."""
