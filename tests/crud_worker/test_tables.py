"""The database's names have one home (bus/tables.py) that its writer and its reader import: a database
the crud_worker's migrations made has every table and every column a reader selects."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from bus import tables
from bus.contract import TaskRow
from crud_worker import db as store


def migrated() -> Database:
    db = Database(sqlite3.connect(":memory:", isolation_level=None))
    store.migrations.apply(db)
    return db


def test_every_table_and_column_a_reader_names_exists():
    db = migrated()
    for table, columns in tables.READ.items():
        have = set(db[table].columns_dict)
        wanted = {name.strip() for name in columns.split(",")}
        assert wanted <= have, (table, wanted - have)


def test_the_tables_named_are_the_tables_made():
    db = migrated()
    made = {name for name in db.table_names() if not name.startswith("_sqlite")}
    assert made == set(tables.TABLES), made ^ set(tables.TABLES)


def test_the_task_row_reads_the_shared_columns():
    assert TaskRow.COLUMNS == tables.TASK_COLUMNS

