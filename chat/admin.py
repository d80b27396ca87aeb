from django.contrib import admin

from chat.models import PollTag, Snippet


@admin.register(Snippet)
class SnippetAdmin(admin.ModelAdmin):
    list_display = ["kind", "source_id", "poll", "short_text", "model_name", "updated_at"]
    list_filter = ["kind", "model_name"]
    search_fields = ["text"]
    raw_id_fields = ["poll"]
    readonly_fields = ["text_hash", "model_name", "vector", "updated_at"]

    @admin.display(description="Text")
    def short_text(self, snippet: Snippet) -> str:
        return snippet.text[:80]


@admin.register(PollTag)
class PollTagAdmin(admin.ModelAdmin):
    list_display = ["label", "poll", "score", "created_at"]
    list_filter = ["label"]
    raw_id_fields = ["poll"]
