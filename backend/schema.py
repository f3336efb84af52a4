"""Creating the schema outside Alembic: only for tests and the embedded dev default."""
from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import text

import backend
from backend.extensions import db


def extra_ddl(dialect: str) -> list[str]:
    """DDL that models cannot express (triggers): each domain's `DDL[dialect]` in ddl.py."""
    out: list[str] = []
    for mod in pkgutil.iter_modules(backend.__path__):
        if not mod.ispkg:
            continue
        try:
            module = importlib.import_module(f"backend.{mod.name}.ddl")
        except ModuleNotFoundError as exc:
            if exc.name == f"backend.{mod.name}.ddl":
                continue
            raise
        out += module.DDL.get(dialect, [])
    return out


def create_all() -> None:
    """Tables from the models, then the triggers from each domain's ddl.py."""
    db.create_all()
    dialect = db.engine.dialect.name
    for stmt in extra_ddl(dialect):
        db.session.execute(text(stmt))
    db.session.commit()
