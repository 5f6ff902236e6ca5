"""The ``contactpoint`` command line: ``main`` parses and dispatches, one module per area does the wiring."""
