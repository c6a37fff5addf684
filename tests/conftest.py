"""Test configuration: a strict floating-point environment and hypothesis profiles."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=60, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(autouse=True)
def strict_floats():
    """Silent overflow, division by zero or invalid operations fail the test."""
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield

# plugin modules for tests/test_plugins.py: imported by the gandyn processes those tests start,
# never by this one (they register names, and one fails to import on purpose)
collect_ignore = ["plugins"]
