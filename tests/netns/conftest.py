"""Several hosts on one machine (network namespaces, tests/netns/net.py). Every test here skips, with
the reason printed in the summary, where namespaces can't be made; none passes without them."""

from __future__ import annotations

import pytest

from tests.fixtures import LOG_TAIL_LINES
from tests.netns.cluster import Cluster
from tests.netns.net import why_not
from tests.report import FAILED_STACK_LOGS

REASON = why_not()


def cluster_fixture(*workers: str, spare: tuple[str, ...] = ()):
    @pytest.fixture(scope="module")
    def cluster(request):
        if REASON:
            pytest.skip(f"no namespaces here: {REASON}")
        failed_before = request.session.testsfailed
        c = Cluster(workers, spare)
        try:
            yield c.start()
        finally:
            if request.session.testsfailed > failed_before:
                FAILED_STACK_LOGS.append((request.node.nodeid, "\n".join(c.log().splitlines()[-LOG_TAIL_LINES:])))
            c.close()
    return cluster

