"""The change feed live: one LISTEN connection per process (listener.py) wakes the
subscriptions of an account (feed.py) when its events commit."""
