"""Amanat's tiny kernel.

Holds only what every other package needs and nothing domain-specific: the SQLAlchemy declarative
``Base`` with its naming convention and the engine/session factory (:mod:`amanat.db`), the frozen
settings built once from ``AMANAT_*`` variables and the instance folder (:mod:`amanat.settings`),
the Alembic migration history (:mod:`amanat.migrations`) and the version. It imports no other
Amanat package.
"""

__version__ = "0.1.0"
