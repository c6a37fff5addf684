"""Subcommands of the ``gandyn`` CLI, one module each (see :mod:`gandyn.cli`)."""
