"""A fake FastMoss Open API server for tests, the demo and benchmarks.

It implements the API contract independently of the client (it imports nothing else from
``xl_fastmoss``), with deterministic data, call recording and injectable faults::

    with FakeFastMoss() as server:
        server.inject(Fault.HTTP_STATUS, status=429, retry_after=1)
        ...  # point the client at server.base_url with FAKE_API_KEY
"""

from .data import CATEGORIES
from .server import FAKE_API_KEY, CallRecord, FakeFastMoss, Fault, serve

__all__ = ["CATEGORIES", "FAKE_API_KEY", "CallRecord", "FakeFastMoss", "Fault", "serve"]
