"""The change feed live: one poll of the accounts' event counters per process
(poller.py) wakes the subscriptions of an account (feed.py) when its events commit."""
