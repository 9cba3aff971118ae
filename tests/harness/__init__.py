"""Test harness: a private PostgreSQL, the pipeline's real processes, HTTP and SSE
clients, and wait_for (conditions with deadlines; tests never sleep to synchronise).

    pg = Postgres().start()
    stack = Stack("ingest", pg).start_all(enrichers=2, llm="fake")
    inc = stack.submit(title="Disk Full")
    stack.wait_status(inc["id"], "triaged")
    stack.close()   # fails on any sanitizer report
    pg.destroy()
"""

import os
import unittest

from .contract import contract
from .pg import Postgres
from .stack import BIN_DIR, DEV_KEY, SOURCE_DIR, FakeLLM, SSEStream, Stack
from .receiver import Receiver, signature_ok
from .util import Response, SubmitLoad, free_port, http_request, wait_for

__all__ = ["contract", "Postgres", "Stack", "FakeLLM", "SSEStream", "wait_for", "free_port",
           "http_request", "Response", "SubmitLoad", "Receiver", "signature_ok", "BIN_DIR", "SOURCE_DIR", "DEV_KEY", "PipelineTest"]


class PipelineTest(unittest.TestCase):
    """Base class: one private PostgreSQL per test module (class), one Stack (own
    database, sockets and port) per test. self.stack is created but nothing started."""

    pg = None

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()

    @classmethod
    def tearDownClass(cls):
        if cls.pg:
            cls.pg.destroy()

    def setUp(self):
        self.stack = Stack(self.id().split(".")[-1][:20], self.pg)
        # the test's own failure is on record by the time cleanups run: keep the logs then
        result = self._outcome.result
        failed_before = len(result.failures) + len(result.errors)
        self.addCleanup(lambda: self.stack.close(
            test_failed=len(result.failures) + len(result.errors) > failed_before))
