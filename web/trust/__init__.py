"""Trusting the model: undo / redo, Allow / Deny, the ask-first policies and the changes page — routes
(routes.py) and fragments (views.py). A chip's own controls are web/chips.py, shared with the chat."""
