"""Tests for the pages, APIs, health check and environment-driven settings.

Run with: DJANGO_DEBUG=1 python manage.py test
"""

import io
import json
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from unittest import mock, skipUnless

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import OperationalError, connection, connections
from django.test import SimpleTestCase, TestCase, override_settings
from PIL import Image
from storages.backends.s3 import S3Storage

from articles.models import Article, Marker
from newsroom import settings_env
from newsroom.media_storage import SiteMediaStorage


def assert_shareable(test, response):
    """An upstream cache may store this response for every anonymous visitor."""
    test.assertEqual(response["Cache-Control"], "public, max-age=60")
    test.assertNotIn("Cookie", response.get("Vary", ""))
    test.assertEqual(len(response.cookies), 0, "anonymous page must not set cookies")


def assert_private(test, response):
    test.assertIn("private", response["Cache-Control"])
    test.assertIn("no-store", response["Cache-Control"])


class TempMediaMixin:
    """Point local file storage at a throwaway directory."""

    def setUp(self):
        super().setUp()
        media_root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, media_root)
        settings_override = override_settings(MEDIA_ROOT=media_root)
        settings_override.enable()
        self.addCleanup(settings_override.disable)


LOCAL_MEMORY_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


class FreshCacheMixin:
    """Pages keep fragments in the cache: each test gets a real (local memory) one, empty."""

    def setUp(self):
        super().setUp()
        settings_override = override_settings(CACHES=LOCAL_MEMORY_CACHE)
        settings_override.enable()
        self.addCleanup(settings_override.disable)
        cache.clear()


class PublicPageTests(FreshCacheMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.article = Article.objects.create(title="Hello world", body="First story.")

    def test_home_lists_articles_and_is_shareable(self):
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Hello world")
        assert_shareable(self, response)

    def test_article_detail_is_shareable(self):
        response = self.client.get(f"/articles/{self.article.slug}/")
        self.assertContains(response, "First story.")
        assert_shareable(self, response)

    def test_unknown_article_is_404_and_private(self):
        response = self.client.get("/articles/no-such-story/")
        self.assertEqual(response.status_code, 404)
        assert_private(self, response)

    def test_every_response_names_the_server(self):
        for url in ["/", "/health/", "/no-such-page/", "/dashboard/"]:
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url)["X-Served-By"], socket.gethostname())

    def test_home_is_private_for_logged_in_user(self):
        user = get_user_model().objects.create_user("editor", password="pw")
        self.client.force_login(user)
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        assert_private(self, response)
        self.assertContains(response, "Log out")

    def test_stylesheet_is_linked(self):
        self.assertContains(self.client.get("/"), "/static/articles/site.css")

    def test_home_teasers_come_from_the_cache_until_it_expires(self):
        self.client.get("/")
        Article.objects.create(title="Late story", body="Not cached yet.")
        with self.assertNumQueries(0):
            self.assertNotContains(self.client.get("/"), "Late story")
        cache.clear()
        self.assertContains(self.client.get("/"), "Late story")

    def test_article_body_is_cached_per_article(self):
        self.client.get(f"/articles/{self.article.slug}/")
        self.assertIsNotNone(cache.get(make_template_fragment_key("article_body", [self.article.slug])))


class HealthTests(TestCase):
    @skipUnless(connection.vendor == "sqlite", "runs on the default SQLite database")
    def test_health_on_sqlite(self):
        response = self.client.get("/health/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "no-store")
        data = response.json()
        self.assertEqual(data["host"], socket.gethostname())
        self.assertEqual(data["database"]["vendor"], "sqlite")
        self.assertIsNone(data["database"]["host"])
        self.assertIsNone(data["database"]["in_recovery"])
        self.assertTrue(data["database"]["ok"])
        self.assertEqual(
            data["cache"],
            {"backend": "django.core.cache.backends.dummy.DummyCache", "servers": [], "ok": None},
        )
        self.assertEqual(
            data["storage"]["backend"], "django.core.files.storage.FileSystemStorage"
        )
        self.assertNotEqual(data["wsgi"]["server"], "mod_wsgi")
        self.assertIsNone(data["wsgi"]["mode"])
        self.assertIsNone(data["wsgi"]["process_group"])
        for key in ["release", "debug", "python", "django"]:
            self.assertIn(key, data)

    @skipUnless(connection.vendor == "postgresql", "needs DATABASE_URL pointing at PostgreSQL")
    def test_health_on_postgresql(self):
        database = self.client.get("/health/").json()["database"]
        self.assertEqual(database["vendor"], "postgresql")
        self.assertTrue(database["ok"])
        self.assertIs(database["in_recovery"], False)

    def test_database_failure_is_503(self):
        failing = mock.patch.object(
            connections["default"], "cursor", side_effect=OperationalError("db is down")
        )
        with failing:
            response = self.client.get("/health/")
        self.assertEqual(response.status_code, 503)
        self.assertFalse(response.json()["database"]["ok"])
        self.assertEqual(response.json()["database"]["error"], "db is down")

    def test_reports_mod_wsgi_daemon_mode(self):
        fake_mod_wsgi = mock.Mock(process_group="newsroom")
        with mock.patch.dict("sys.modules", {"mod_wsgi": fake_mod_wsgi}):
            wsgi = self.client.get("/health/").json()["wsgi"]
        self.assertEqual(
            {key: wsgi[key] for key in ("server", "mode", "process_group")},
            {"server": "mod_wsgi", "mode": "daemon", "process_group": "newsroom"},
        )
        self.assertEqual(wsgi["python_prefix"], sys.prefix)
        self.assertEqual(wsgi["virtualenv"], sys.prefix != sys.base_prefix)


class MarkerApiTests(TestCase):
    def test_create_from_form_and_fetch(self):
        response = self.client.post("/api/markers/", {"value": "before-failover"})
        self.assertEqual(response.status_code, 201)
        created = response.json()
        self.assertEqual(created["value"], "before-failover")
        self.assertEqual(Marker.objects.get(id=created["id"]).value, "before-failover")

        fetched = self.client.get("/api/markers/before-failover/")
        self.assertEqual(fetched.status_code, 200)
        self.assertEqual(fetched.json()["id"], created["id"])
        assert_private(self, fetched)

    def test_create_from_json(self):
        response = self.client.post(
            "/api/markers/", json.dumps({"value": "m-json"}), content_type="application/json"
        )
        self.assertEqual(response.status_code, 201)
        self.assertTrue(Marker.objects.filter(value="m-json").exists())

    def test_missing_marker_is_404(self):
        self.assertEqual(self.client.get("/api/markers/nope/").status_code, 404)

    def test_count(self):
        Marker.objects.create(value="a")
        Marker.objects.create(value="b")
        response = self.client.get("/api/markers/?count=1")
        self.assertEqual(response.json(), {"count": 2})

    def test_bad_and_duplicate_values(self):
        self.assertEqual(self.client.post("/api/markers/", {}).status_code, 400)
        self.assertEqual(
            self.client.post(
                "/api/markers/", "not json", content_type="application/json"
            ).status_code,
            400,
        )
        self.client.post("/api/markers/", {"value": "twice"})
        self.assertEqual(self.client.post("/api/markers/", {"value": "twice"}).status_code, 409)


class UploadApiTests(TempMediaMixin, TestCase):
    def test_upload_is_saved_through_default_storage(self):
        upload = SimpleUploadedFile("note.txt", b"shared media", content_type="text/plain")
        response = self.client.post("/api/uploads/", {"file": upload})
        self.assertEqual(response.status_code, 201)
        data = response.json()
        self.assertTrue(data["name"].startswith("uploads/note"))
        self.assertEqual(data["url"], default_storage.url(data["name"]))
        with default_storage.open(data["name"]) as stored:
            self.assertEqual(stored.read(), b"shared media")

    def test_rejects_file_over_1mb(self):
        upload = SimpleUploadedFile("big.bin", b"x" * (1024 * 1024 + 1))
        response = self.client.post("/api/uploads/", {"file": upload})
        self.assertEqual(response.status_code, 400)
        self.assertIn("error", response.json())

    def test_rejects_missing_file(self):
        response = self.client.post("/api/uploads/", {})
        self.assertEqual(response.status_code, 400)
        self.assertIn("error", response.json())

    def test_an_upload_reads_back_from_storage(self):
        upload = SimpleUploadedFile("back.txt", b"read me back")
        name = self.client.post("/api/uploads/", {"file": upload}).json()["name"]
        response = self.client.get(f"/api/uploads/{name}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(b"".join(response.streaming_content), b"read me back")

    def test_an_html_page_or_svg_is_refused_and_not_stored(self):
        """Served from /media/ on the site's own origin, either would run its script there."""
        for name, content in (("x.html", b"<script>alert(document.cookie)</script>"),
                              ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
                              ("x.htm", b"<script>1</script>"), ("x", b"<script>1</script>"),
                              ("x.js", b"alert(1)")):
            upload = SimpleUploadedFile(name, content, content_type="image/png")
            response = self.client.post("/api/uploads/", {"file": upload})
            self.assertEqual(response.status_code, 400, name)
            self.assertIn("is not an allowed type: upload a file ending in one of", response.json()["error"])
        self.assertFalse(default_storage.exists("uploads"))

    def test_a_page_disguised_as_an_image_is_refused(self):
        upload = SimpleUploadedFile("x.png", b"<html><script>alert(1)</script></html>", content_type="image/png")
        response = self.client.post("/api/uploads/", {"file": upload})
        self.assertEqual(response.status_code, 400)
        self.assertIn("'x.png' is not a PNG image", response.json()["error"])

    def test_a_real_image_is_stored_whole_and_its_url_is_on_this_site(self):
        image = io.BytesIO()
        Image.new("RGB", (4, 4), "red").save(image, "PNG")
        upload = SimpleUploadedFile("pic.PNG", image.getvalue())
        response = self.client.post("/api/uploads/", {"file": upload})
        self.assertEqual(response.status_code, 201)
        data = response.json()
        self.assertEqual(data["url"], f"/media/{data['name']}")
        with default_storage.open(data["name"]) as stored:
            self.assertEqual(stored.read(), image.getvalue())

    def test_reading_back_is_limited_to_uploads(self):
        self.assertEqual(self.client.get("/api/uploads/uploads/none.txt").status_code, 404)
        self.assertEqual(self.client.get("/api/uploads/articles/x.jpg").status_code, 400)
        self.assertEqual(self.client.get("/api/uploads/uploads/../secret").status_code, 400)


class LoggedInPageTests(FreshCacheMixin, TempMediaMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.user = get_user_model().objects.create_user("editor", password="s3cret-pass")

    def test_dashboard_redirects_anonymous_to_login(self):
        response = self.client.get("/dashboard/")
        self.assertRedirects(response, "/accounts/login/?next=/dashboard/")
        assert_private(self, response)

    def test_dashboard_is_private(self):
        self.client.force_login(self.user)
        response = self.client.get("/dashboard/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "private, no-store")

    def test_login_and_logout(self):
        response = self.client.post(
            "/accounts/login/", {"username": "editor", "password": "s3cret-pass"}
        )
        self.assertRedirects(response, "/dashboard/")
        self.assertEqual(self.client.post("/accounts/logout/").status_code, 302)
        self.assertRedirects(self.client.get("/dashboard/"), "/accounts/login/?next=/dashboard/")

    def test_write_article_with_image(self):
        self.client.force_login(self.user)
        form_page = self.client.get("/articles/new/")
        self.assertContains(form_page, 'enctype="multipart/form-data"')
        assert_private(self, form_page)
        image = io.BytesIO()
        Image.new("RGB", (4, 4), "red").save(image, "PNG")
        upload = SimpleUploadedFile("pic.png", image.getvalue(), content_type="image/png")
        response = self.client.post(
            "/articles/new/", {"title": "New", "body": "Text.", "image": upload}
        )
        article = Article.objects.get(title="New")
        self.assertRedirects(response, f"/articles/{article.slug}/")
        self.assertNotEqual(article.slug, "new", "slug must not shadow /articles/new/")
        self.assertEqual(article.author, self.user)
        self.assertTrue(article.image.name.startswith("articles/pic"))
        self.assertTrue(default_storage.exists(article.image.name))


class ModelAndCommandTests(TestCase):
    def test_slugs_are_unique(self):
        first = Article.objects.create(title="Same title", body=".")
        second = Article.objects.create(title="Same title", body=".")
        self.assertEqual((first.slug, second.slug), ("same-title", "same-title-2"))

    def test_seed_articles_is_idempotent(self):
        call_command("seed_articles", stdout=io.StringIO())
        count = Article.objects.count()
        self.assertGreaterEqual(count, 3)
        call_command("seed_articles", stdout=io.StringIO())
        self.assertEqual(Article.objects.count(), count)


class SettingsEnvTests(SimpleTestCase):
    def test_cache_settings_file_sets_caches(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "cache_settings.py"
            path.write_text('CACHES = {"default": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",'
                            ' "LOCATION": ["cache1:11211", "cache2:11211"]}}\n')
            caches = settings_env.caches({"CACHE_SETTINGS": str(path)})
        self.assertEqual(caches["default"]["LOCATION"], ["cache1:11211", "cache2:11211"])

    def test_no_cache_settings_file_caches_nothing(self):
        for environ in ({}, {"CACHE_SETTINGS": "/nonexistent/cache_settings.py"}):
            caches = settings_env.caches(environ)
            self.assertEqual(caches["default"]["BACKEND"], "django.core.cache.backends.dummy.DummyCache")

    def test_a_cache_settings_file_without_caches_is_refused(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "cache_settings.py"
            path.write_text("CACHE = {}\n")
            with self.assertRaisesMessage(ImproperlyConfigured, "must set CACHES"):
                settings_env.caches({"CACHE_SETTINGS": str(path)})

    def test_s3_storage_with_endpoint(self):
        storages = settings_env.storages(
            {
                "STORAGE_BACKEND": "s3",
                "AWS_STORAGE_BUCKET_NAME": "media",
                "AWS_S3_ENDPOINT_URL": "http://minio:9000",
                "AWS_ACCESS_KEY_ID": "key",
                "AWS_SECRET_ACCESS_KEY": "secret",
            }
        )
        default = storages["default"]
        self.assertEqual(default["BACKEND"], "newsroom.media_storage.SiteMediaStorage")
        self.assertEqual(default["OPTIONS"]["endpoint_url"], "http://minio:9000")
        self.assertEqual(default["OPTIONS"]["addressing_style"], "path")
        self.assertFalse(default["OPTIONS"]["querystring_auth"])
        # The options are valid for the real backend, which would give the media server's own URL ...
        self.assertEqual(S3Storage(**default["OPTIONS"]).url("uploads/a.txt"), "http://minio:9000/media/uploads/a.txt")
        # ... where the site's storage gives its path on this site, which the load balancer serves.
        storage = SiteMediaStorage(**default["OPTIONS"])
        self.assertEqual(storage.url("uploads/a b.txt"), "/media/uploads/a%20b.txt")

    def test_s3_needs_a_bucket(self):
        with self.assertRaises(ImproperlyConfigured):
            settings_env.storages({"STORAGE_BACKEND": "s3"})

    def test_local_storage_is_default(self):
        self.assertEqual(
            settings_env.storages({})["default"]["BACKEND"],
            "django.core.files.storage.FileSystemStorage",
        )

    def test_unknown_storage_backend_is_rejected(self):
        with self.assertRaises(ImproperlyConfigured):
            settings_env.storages({"STORAGE_BACKEND": "ftp"})

    def test_missing_secret_key_without_debug_raises(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "DJANGO_SECRET_KEY"):
            settings_env.secret_key({}, debug=False)

    def test_secret_key(self):
        self.assertEqual(settings_env.secret_key({"DJANGO_SECRET_KEY": "k"}, debug=False), "k")
        self.assertEqual(
            settings_env.secret_key({}, debug=True), settings_env.INSECURE_DEV_SECRET_KEY
        )

    def test_bool_and_list(self):
        self.assertTrue(settings_env.env_bool({"X": "Yes"}, "X"))
        self.assertFalse(settings_env.env_bool({"X": "0"}, "X"))
        self.assertFalse(settings_env.env_bool({}, "X"))
        self.assertEqual(settings_env.env_list({}, "X", "a, b,,c"), ["a", "b", "c"])

    def test_database_default_is_sqlite_in_base_dir(self):
        db = settings_env.databases({}, Path("/srv/app"))["default"]
        self.assertEqual(db["ENGINE"], "django.db.backends.sqlite3")
        self.assertEqual(db["NAME"], "/srv/app/db.sqlite3")
        self.assertEqual(db["CONN_MAX_AGE"], 0)

    def test_database_url_and_conn_max_age(self):
        db = settings_env.databases(
            {
                "DATABASE_URL": "postgres://news:pw@pgpool:9999/news",
                "DATABASE_CONN_MAX_AGE": "60",
            },
            Path("/srv/app"),
        )["default"]
        self.assertEqual(db["ENGINE"], "django.db.backends.postgresql")
        self.assertEqual((db["HOST"], db["PORT"], db["NAME"]), ("pgpool", 9999, "news"))
        self.assertEqual(db["CONN_MAX_AGE"], 60)
        self.assertTrue(db["CONN_HEALTH_CHECKS"])

    def test_release_id(self):
        with tempfile.TemporaryDirectory() as base_dir:
            self.assertEqual(settings_env.release_id({}, base_dir), "dev")
            (Path(base_dir) / "RELEASE").write_text("2024-06-01-abc123\n")
            self.assertEqual(settings_env.release_id({}, base_dir), "2024-06-01-abc123")
            self.assertEqual(settings_env.release_id({"RELEASE_ID": "r9"}, base_dir), "r9")
