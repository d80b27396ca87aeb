from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Insights"

    def ready(self):
        from chat import receivers  # noqa: F401 - connects the receivers
