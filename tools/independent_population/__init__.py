"""A second population of children, written from ``docs/feeds.md`` alone, for evaluation only.

It never trains the hub's model and is not shipped in the wheel. See ``generate.py``.
"""
