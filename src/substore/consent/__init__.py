"""Consent: may this number be texted, now?

Pure rules, no I/O: zones.py (a number's time zones, stored with its key), keywords.py
(what an inbound message asks), quiet_hours.py (when a subscriber may be messaged).
The rules that decide a write (opt-outs stick) live in SQL, in repository/consent.py,
so that they hold inside the write statement.
"""
