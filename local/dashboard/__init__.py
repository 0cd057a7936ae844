"""The live dashboard of the local cloud: broadcast-style panels fed by the services' own events.

`feed.py` subscribes a rule and queue of its own to the Pitwall bus; `state.py` folds each event
into the panels' state; `server.py` serves the page and pushes every change over server-sent events.
"""
