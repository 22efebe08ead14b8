"""The web process. A feature is a folder with its routes and views (chat/, tasks/, conversations/,
trust/); the machinery is live/ (the bus hub and its state) and render/; page/ is the shell; what routes
share is respond.py, chips.py and fragment.py (docs/DESIGN.md tells the layout)."""
