"""The page around the features: its shell (shell.py), the status line (status.py), GET /, /events and
/health (routes.py), and the screen (screen.py) that turns each bus message into the features' fragments
for the hub."""
