"""News articles, plus the Marker rows that the course's failover checks write."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

# Paths under /articles/ that a slug must not shadow.
RESERVED_SLUGS = {"new"}


class Article(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True, blank=True)
    body = models.TextField()
    image = models.ImageField(upload_to="articles/", blank=True)
    published_at = models.DateTimeField(default=timezone.now, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
    )

    class Meta:
        ordering = ["-published_at", "-id"]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(self.title)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("article_detail", args=[self.slug])


def unique_slug(title):
    """Slugify the title, adding -2, -3, ... until no other article uses it."""
    base = slugify(title)[:200] or "article"
    slug, suffix = base, 2
    while slug in RESERVED_SLUGS or Article.objects.filter(slug=slug).exists():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


class Marker(models.Model):
    """A row written through the API, to check it survives a database failover."""

    value = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.value
