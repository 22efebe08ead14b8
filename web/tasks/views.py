"""The task list's fragments: a row (its one shape, kept rendered by web/tasks/rows.py), the list, the
form that adds a task, and the export / import controls."""

from __future__ import annotations

from fasthtml.common import A, Button, Div, Form, Input, Label, Li, Span, Ul

from bus.contract import MAX_NAME, TaskRow


# A list control's answer goes to the list's error slot, named when the request starts: the change it makes
# re-renders the control itself before its answer arrives, and htmx finds no target for an out-of-band swap
# from a detached control (the htmx:oobErrorNoTarget a toggle logged). Success answers empty, clearing the slot.
TO_ERRORS = {"hx_target": "#task-error", "hx_swap": "innerHTML"}


def task_item(t: TaskRow, swap: str | None = None) -> Li:
    return Li(
        Span("⋮⋮", cls="handle", title="Drag to reorder", aria_hidden="true"),
        Input(type="checkbox", checked=t.done, hx_post=f"/tasks/{t.id}/toggle", **TO_ERRORS,
              aria_label=f"Done: {t.name}", cls="toggle"),
        Input(name="name", value=t.name, hx_put=f"/tasks/{t.id}", hx_trigger="change", **TO_ERRORS,
              cls="name", aria_label="Task name", maxlength=str(MAX_NAME), id=f"name-{t.id}"),
        Label(t.name, fr=f"name-{t.id}", cls="name-text"),  # at phone widths: the whole name, wrapped; a tap edits
        Button("×", hx_delete=f"/tasks/{t.id}", **TO_ERRORS, cls="delete", aria_label=f"Delete {t.name}",
               type="button"),
        id=f"task-{t.id}", cls="task done" if t.done else "task", data_id=str(t.id), hx_swap_oob=swap,
    )


def task_list(tasks: list[TaskRow], swap: str | None = None) -> Ul:
    return Ul(*[task_item(t) for t in tasks], id="task-list", cls="tasks", hx_swap_oob=swap)


def transfer_controls() -> Div:
    """Export the list as a file, import one (web/tasks/transfer.py); an import's outcome shows beside them.
    The file input posts itself, its file in a multipart body (no form of its own is needed)."""
    return Div(A("Export", href="/tasks/export.json", download="ghostwire-tasks.json", cls="export-link",
                 aria_label="Export the task list as JSON"),
               Label("Import", Input(type="file", name="file", accept="application/json,.json",
                                     hx_post="/tasks/import", hx_encoding="multipart/form-data",
                                     hx_trigger="change", hx_swap="none", id="import-file",
                                     hx_on__after_request="this.value = ''",
                                     aria_label="Import tasks from a JSON export"),
                     cls="import-label"),
               import_result(),
               cls="transfer")


def import_result(*parts, swap: str | None = None) -> Div:
    """Where an import's outcome shows ("Imported 3 tasks. Undo import"); emptied when a later one fails."""
    return Div(*parts, id="import-result", aria_live="polite", hx_swap_oob=swap)


def add_form() -> Form:
    return Form(Input(name="name", placeholder="Add a task…", maxlength=str(MAX_NAME), required=True,
                      id="new-task", aria_label="New task"),
                Button("Add", type="submit"), hx_post="/tasks", **TO_ERRORS, id="add-task",
                hx_on__after_request="if(event.detail.successful) this.reset()")
