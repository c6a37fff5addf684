"""A gandyn plugin that fails to import (for the tests of the one-line error)."""
raise RuntimeError("broken on purpose")
