"""Retention: when a child leaves the directory, the six-year archive, and destruction that leaves no trace.

``rules`` (the rule table, pure), ``due`` (who is past their leave date, from the store), ``archive``
(age-out and the archivist's read), ``destroy`` and ``rewrite`` (destruction and the table rewrite after it),
``proof`` (searching the store for a destroyed child) and ``door`` (rows about children already gone).
"""
