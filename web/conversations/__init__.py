"""Conversations: their routes (routes.py: new, list, open, rename, delete, export) and fragments (views.py:
the drawer, the list page, the Markdown export)."""
