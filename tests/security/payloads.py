"""Hostile model replies, shared by the tests and the bench (one definition each)."""

# Sixteen 256-column tables whose 256 rows hold one cell each: markdown pads every row to the header's
# width, so 24,656 characters rendered to 430× their size in 15 s on the web's event loop (issue 13).
HOSTILE_TABLES = ("|a" * 256 + "|\n" + "|-" * 256 + "|\n" + "a\n" * 256 + "\n") * 16
# 180 KB that passes the table check but takes markdown-it a second or more: the time budget's case.
HEAVY_MARKDOWN = "*a* " * 45_000
