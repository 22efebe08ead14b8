"""The task list: its routes (routes.py), its fragments (views.py), its rows as the event stream carries
them (rows.py), and the list as a file, export and import (transfer.py)."""
