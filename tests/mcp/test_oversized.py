"""An oversized call is answered for its own id only when that id is surely the request's: the last
member of the top-level object (a nested "id", say a task's, ends with two braces or more)."""

from __future__ import annotations

import pytest

from web.mcp.endpoint import _LAST_ID


@pytest.mark.parametrize("tail,found", [
    (b'"arguments":{"name":"xxx"}},"jsonrpc":"2.0","id":7}', b"7"),
    (b'"jsonrpc":"2.0","id":"req-1"}\n', b'"req-1"'),
    (b'"params":{"arguments":{"id":5}}}', None),  # a task id inside the arguments
    (b'"jsonrpc":"2.0","id":7,"params":{"arguments":{"id":5}}}', None),  # the request's id not last
    (b'"name":"x"}},"id":7', None),  # cut off: no closing brace
])
def test_only_a_top_level_last_id_is_taken(tail, found):
    match = _LAST_ID.search(tail)
    assert (match.group(1) if match else None) == found
