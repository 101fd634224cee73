"""Webhooks: an account's subscriber events POSTed to its endpoints as Standard Webhooks.

signing.py     whsec_ secrets and the webhook-id/-timestamp/-signature headers
ssrf.py        which URLs and addresses may be sent to (checked again at each send)
payload.py     a batch of events as the JSON body receivers get
schedule.py    when a failed batch is tried again, and when to give up
delivery.py    one step for one endpoint: take its next batch, send it, record how it went
dispatcher.py  the loop: one process at a time (an advisory lock), endpoints in parallel,
               pruning old events
"""
