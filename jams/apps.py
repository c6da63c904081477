from django.apps import AppConfig


class JamsConfig(AppConfig):
    name = "jams"
    verbose_name = "Jams"

    def ready(self) -> None:
        from jamsite import checks  # noqa: F401  (registers the system checks)
