"""The chat: its routes (routes.py: send, stop, poke, models, retry, attempts), its fragments (views.py:
bubbles, notes, the form, the log; bars.py: Edit, Retry and the attempts switcher; cards.py: jobs and
models), and the chat over the event stream, built from the in-flight state (stream.py)."""
