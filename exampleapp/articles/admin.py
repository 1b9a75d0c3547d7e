from django.contrib import admin

from articles.models import Article, Marker


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "author", "published_at")
    search_fields = ("title", "body")
    prepopulated_fields = {"slug": ("title",)}
    date_hierarchy = "published_at"


@admin.register(Marker)
class MarkerAdmin(admin.ModelAdmin):
    list_display = ("value", "created_at")
    search_fields = ("value",)
