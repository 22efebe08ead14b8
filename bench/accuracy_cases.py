"""The accuracy bench's requests: each on a seeded list, with the list it should leave.

A request's verdict compares the list after it (and its follow-ups) with `expect`, names compared
case-insensitively with surrounding quotes and a final full stop ignored; a request that must change
nothing expects the seed. The lists and names are not those of the prompt's examples.
"""

from __future__ import annotations

from dataclasses import dataclass

Tasks = tuple[tuple[str, bool], ...]

HOME: Tasks = (("walk the dog", False), ("buy bread", False), ("clean the kitchen", True), ("email Sam", False),
               ("fix the bike", True))
TRIP: Tasks = (("book flights", False), ("pay the electricity bill", True), ("call grandma", False))
ODD: Tasks = (('read "Dune"', False), ("fix {braces} in config", False), ("Bob's birthday gift", True))
SPANISH: Tasks = (("comprar leche", False), ("llamar a Ana", False))
EMPTY: Tasks = ()


@dataclass(frozen=True)
class Case:
    kind: str
    seed: Tasks
    text: str
    expect: Tasks


def add(seed: Tasks, *names: str) -> Tasks:
    return seed + tuple((n, False) for n in names)


def mark(seed: Tasks, done: bool, *names: str) -> Tasks:
    return tuple((n, done if n in names else d) for n, d in seed)


def rename(seed: Tasks, old: str, new: str) -> Tasks:
    return tuple((new if n == old else n, d) for n, d in seed)


def drop(seed: Tasks, *names: str) -> Tasks:
    return tuple((n, d) for n, d in seed if n not in names)


def done_dropped(seed: Tasks) -> Tasks:
    return tuple((n, d) for n, d in seed if not d)


def all_marked(seed: Tasks, done: bool) -> Tasks:
    return tuple((n, done) for n, _ in seed)


CASES: list[Case] = [
    Case("add", HOME, "add buy apples", add(HOME, "buy apples")),
    Case("add", EMPTY, "remind me to call the bank", add(EMPTY, "call the bank")),
    Case("add", TRIP, "put 'water the plants' on my list", add(TRIP, "water the plants")),
    Case("add", HOME, "add a task: book the dentist", add(HOME, "book the dentist")),
    Case("add", HOME, "add 'pick up \"The Hobbit\" from the library'",
         add(HOME, 'pick up "The Hobbit" from the library')),
    Case("add", EMPTY, "add a task named 'update {config} file'", add(EMPTY, "update {config} file")),
    Case("add several", HOME, "add milk, eggs and butter", add(HOME, "milk", "eggs", "butter")),
    Case("add several", TRIP, "add two tasks: pay rent and call mom", add(TRIP, "pay rent", "call mom")),
    Case("add several", EMPTY, "please add 'buy stamps' and 'post the letter'",
         add(EMPTY, "buy stamps", "post the letter")),
    Case("tick", HOME, "tick off walk the dog", mark(HOME, True, "walk the dog")),
    Case("tick", HOME, "I bought the bread, mark it done", mark(HOME, True, "buy bread")),
    Case("tick", TRIP, "mark 'call grandma' as done", mark(TRIP, True, "call grandma")),
    Case("tick", HOME, "'email Sam' is done", mark(HOME, True, "email Sam")),
    Case("tick", TRIP, "done with book flights", mark(TRIP, True, "book flights")),
    Case("tick", ODD, "I finished reading Dune, tick it off", mark(ODD, True, 'read "Dune"')),
    Case("untick", HOME, "untick clean the kitchen", mark(HOME, False, "clean the kitchen")),
    Case("untick", TRIP, "mark 'pay the electricity bill' as not done", mark(TRIP, False, "pay the electricity bill")),
    Case("untick", HOME, "oops, 'fix the bike' isn't done yet", mark(HOME, False, "fix the bike")),
    Case("untick", ODD, "reopen Bob's birthday gift", mark(ODD, False, "Bob's birthday gift")),
    Case("rename", HOME, "rename 'buy bread' to 'buy sourdough'", rename(HOME, "buy bread", "buy sourdough")),
    Case("rename", TRIP, "change 'call grandma' to 'visit grandma'", rename(TRIP, "call grandma", "visit grandma")),
    Case("rename", ODD, "rename 'fix {braces} in config' to 'fix config'",
         rename(ODD, "fix {braces} in config", "fix config")),
    Case("rename", HOME, "'email Sam' should say 'email Sam about the trip'",
         rename(HOME, "email Sam", "email Sam about the trip")),
    Case("rename", ODD, "rename read \"Dune\" to read \"Dune Messiah\"",
         rename(ODD, 'read "Dune"', 'read "Dune Messiah"')),
    Case("delete", HOME, "delete walk the dog", drop(HOME, "walk the dog")),
    Case("delete", TRIP, "remove 'book flights' from the list", drop(TRIP, "book flights")),
    Case("delete", HOME, "get rid of fix the bike", drop(HOME, "fix the bike")),
    Case("delete", ODD, "delete the task about Bob's birthday", drop(ODD, "Bob's birthday gift")),
    Case("delete", HOME, "delete 'buy bread' and 'email Sam'", drop(HOME, "buy bread", "email Sam")),
    Case("bulk", TRIP, "mark everything as done", all_marked(TRIP, True)),
    Case("bulk", HOME, "tick all my tasks", all_marked(HOME, True)),
    Case("bulk", HOME, "mark everything as not done", all_marked(HOME, False)),
    Case("delete done", HOME, "delete what's done", done_dropped(HOME)),
    Case("delete done", TRIP, "clear the completed tasks", done_dropped(TRIP)),
    Case("delete done", ODD, "remove all done tasks", done_dropped(ODD)),
    # asked as a question, the change named: a request (a question that names none only gets suggestions)
    Case("asked as a question", HOME, "can you add 'water the plants'?", add(HOME, "water the plants")),
    Case("asked as a question", TRIP, "could you tick off call grandma?", mark(TRIP, True, "call grandma")),
    Case("asked as a question", ODD, "would you delete fix {braces} in config?", drop(ODD, "fix {braces} in config")),
    Case("nothing", HOME, "what's on my list?", HOME),
    Case("nothing", TRIP, "hello!", TRIP),
    Case("nothing", HOME, "how many tasks are done?", HOME),
    Case("nothing", TRIP, "thanks, that's all", TRIP),
    Case("nothing", HOME, "which task should I do first?", HOME),
    Case("nothing", EMPTY, "tell me a joke", EMPTY),
    Case("nothing", HOME, "is 'buy bread' done?", HOME),
    Case("non-English", SPANISH, "añade comprar pan", add(SPANISH, "comprar pan")),
    Case("non-English", SPANISH, "marca 'llamar a Ana' como hecha", mark(SPANISH, True, "llamar a Ana")),
    Case("non-English", SPANISH, "¿qué tengo pendiente?", SPANISH),
    Case("non-English", EMPTY, "füge 'Zahnarzt anrufen' hinzu", add(EMPTY, "Zahnarzt anrufen")),
]


def norm(name: str) -> str:
    return name.strip().strip("'\u2018\u2019").rstrip(".").strip().casefold()


def same(tasks: Tasks, expect: Tasks) -> bool:
    return sorted((norm(n), d) for n, d in tasks) == sorted((norm(n), d) for n, d in expect)
