"""Create a few demo articles so a fresh deployment has something on its home page."""

from django.core.management.base import BaseCommand

from articles.models import Article

DEMO_ARTICLES = [
    (
        "welcome-to-the-newsroom",
        "Welcome to the Newsroom",
        "This site is a small Django application deployed behind Apache and "
        "mod_wsgi, with PostgreSQL for data and memcached for caching.",
    ),
    (
        "load-balancer-goes-live",
        "Load balancer goes live",
        "Requests are now spread across several web servers. Every response "
        "names the server that produced it in the X-Served-By header.",
    ),
    (
        "database-failover-drill",
        "Database failover drill a success",
        "The primary database was switched off during the drill. pgpool "
        "promoted a standby and the site kept answering.",
    ),
    (
        "cache-in-front",
        "A cache in front of the site",
        "Anonymous pages are marked public for sixty seconds, so Varnish can "
        "answer most readers without touching the application.",
    ),
    (
        "shared-media-storage",
        "Uploads now shared by every server",
        "Images are stored in one place that all web servers can reach, so an "
        "upload handled by one server is visible through all the others.",
    ),
]


class Command(BaseCommand):
    help = "Create the demo articles that are missing (safe to run on every deploy)."

    def handle(self, *args, **options):
        created = 0
        # Oldest first, so the home page (newest first) lists them in this file's order.
        for slug, title, body in reversed(DEMO_ARTICLES):
            _, was_created = Article.objects.get_or_create(
                slug=slug, defaults={"title": title, "body": body}
            )
            created += was_created
        self.stdout.write(
            f"Created {created} demo article(s); {len(DEMO_ARTICLES) - created} already present."
        )
