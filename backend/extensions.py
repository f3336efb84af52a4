"""Unbound extension objects, bound in create_app."""
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from backend.db import Base

db = SQLAlchemy(metadata=Base.metadata)  # models subclass backend.db.Base (Flask-free)
migrate = Migrate()
