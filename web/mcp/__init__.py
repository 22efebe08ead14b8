"""Ghostwire as an MCP server: outside agents act on the list at `/mcp` (endpoint.py), through the
same bus requests as the page (server.py; waiting.py waits for the reply to an agent's message), with
the command schema's own tools (tools.py); `python -m web.mcp --stdio` bridges a client that launches a
stdio server (__main__.py)."""
