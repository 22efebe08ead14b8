"""The command language, shared by the crud_worker (which runs commands) and the web (which shows
their chips while a reply streams): the splitter (`splitter`; what opens a block: `openers`; the
fence states: `fences`) and its pieces, the command set (`spec`: typed commands, their fields
declared once), reading and validating what the model wrote (`parse`, `pythonic`), the JSON schemas
made from the spec (`schema`: native tool definitions, the structured reply), command ids,
`!`-commands.

What is here is what a model (or a person typing `!`) can say. The limits of what is stored — a
task's name and id, a chat message's length — and the task row are the bus contract's
(`bus/contract/rules.py`): a person's click produces tasks too, without any command language, and
`TaskRow` crosses the bus. This package refers to them; it never defines its own.
"""
