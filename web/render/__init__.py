"""Rendering a reply: its markdown to safe HTML (markdown.py), in a worker process with a cache (pool.py),
and the quiet line of figures under it (speed_line.py)."""
