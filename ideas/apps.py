from django.apps import AppConfig
from django.db.backends.signals import connection_created


class IdeasConfig(AppConfig):
    name = "ideas"
    verbose_name = "Ideas and discussion"

    def ready(self) -> None:
        from .folding import sqlite_functions_add

        # Search folds texts in the database (ideas/search.py): PostgreSQL
        # has the jam_fold function from migration 0003; SQLite gets
        # jam_match, which folds and matches, here.
        connection_created.connect(sqlite_functions_add, dispatch_uid="ideas.sqlite_functions")
