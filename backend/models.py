"""Imports every domain's models so that the metadata (and Alembic) sees all tables."""
import importlib
import pkgutil

import backend

for _mod in pkgutil.iter_modules(backend.__path__):
    if _mod.ispkg:
        for _name in ("models",):
            try:
                importlib.import_module(f"backend.{_mod.name}.{_name}")
            except ModuleNotFoundError as exc:  # a domain without models
                if exc.name != f"backend.{_mod.name}.{_name}":
                    raise
