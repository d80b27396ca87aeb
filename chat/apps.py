from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Insights"

    def ready(self):
        from chat import receivers, themes  # noqa: F401 - receivers connect on import
        from polls.selectors import RESULTS_SECTIONS

        RESULTS_SECTIONS["themes"] = themes.results_section
