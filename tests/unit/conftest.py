"""Fixtures of the unit tests that call the stages in-process."""

import contextlib

import pytest


@pytest.fixture
def no_dask(monkeypatch):
    """Replace the stages' Dask client by None (in-process compute); record what was asked for
    ((threads, mem_mb) per client)."""
    from magcore import stages

    calls = []

    @contextlib.contextmanager
    def client(compute, threads=1, mem_mb=None):
        calls.append((threads, mem_mb))
        yield None

    monkeypatch.setattr(stages, "dask_client_from_config", client)
    return calls
