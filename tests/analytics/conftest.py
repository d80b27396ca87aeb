import pytest

from analytics import queue


@pytest.fixture(autouse=True)
def _empty_open_queue():
    """Each test starts and ends with no opens waiting to be written."""
    while queue.take_batch():
        pass
    yield
    while queue.take_batch():
        pass
