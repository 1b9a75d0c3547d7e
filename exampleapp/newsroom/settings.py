"""Settings for the newsroom site, read entirely from the environment.

The same code runs on a laptop and on every production web server; only the
environment differs. Variables:

DJANGO_SECRET_KEY       Signing key. Required unless DJANGO_DEBUG=1 (then a
                        fixed, insecure development key is used).
DJANGO_DEBUG            1/true/yes/on enables debug mode. Default: off.
DJANGO_ALLOWED_HOSTS    Comma list of host names served.
                        Default: "localhost,127.0.0.1".
DJANGO_CSRF_TRUSTED_ORIGINS
                        Comma list of origins (scheme://host[:port]) allowed to
                        POST forms, for proxies that change the Host header or
                        port. Default: empty.
DATABASE_URL            dj-database-url URL, e.g.
                        postgres://user:pass@host:5432/name.
                        Default: sqlite:///<BASE_DIR>/db.sqlite3.
DATABASE_CONN_MAX_AGE   Seconds to keep a database connection open (0 closes
                        it after each request). Default: 0.
CACHE_SETTINGS          A Python file that sets CACHES (e.g. memcached on the
                        cache servers). Unset or absent: no cache (DummyCache).
STORAGE_BACKEND         "local" (files under MEDIA_ROOT) or "s3" (a bucket
                        shared by all web servers). Default: "local".
AWS_STORAGE_BUCKET_NAME Bucket for STORAGE_BACKEND=s3 (required then).
AWS_S3_ENDPOINT_URL     Endpoint of an S3-compatible server, e.g.
                        http://minio:9000; switches to path-style addressing.
                        Default: AWS itself.
AWS_S3_REGION_NAME      Bucket region. Default: boto3's default.
AWS_ACCESS_KEY_ID       Credentials for the bucket. Default: boto3's usual
AWS_SECRET_ACCESS_KEY   lookup (environment, instance role, ...).
STATIC_ROOT             Where collectstatic copies assets.
                        Default: <BASE_DIR>/staticfiles.
MEDIA_ROOT              Where local uploads are stored. Default: <BASE_DIR>/media.
MEDIA_URL               URL prefix of uploads, local or in the bucket (the site
                        serves the bucket there). Default: "/media/".
RELEASE_ID              Release shown by /health/. Default: the contents of
                        <BASE_DIR>/RELEASE, else "dev".
DJANGO_LOG_LEVEL        Level of the console log (stderr, i.e. Apache's error
                        log under mod_wsgi). Default: INFO.
"""

import os
from pathlib import Path

from newsroom import settings_env

BASE_DIR = Path(__file__).resolve().parent.parent
ENV = os.environ

DEBUG = settings_env.env_bool(ENV, "DJANGO_DEBUG")
SECRET_KEY = settings_env.secret_key(ENV, DEBUG)
ALLOWED_HOSTS = settings_env.env_list(ENV, "DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = settings_env.env_list(ENV, "DJANGO_CSRF_TRUSTED_ORIGINS")
RELEASE_ID = settings_env.release_id(ENV, BASE_DIR)

INSTALLED_APPS = [
    "articles",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "newsroom.middleware.served_by",
    "newsroom.middleware.private_by_default",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "newsroom.middleware.cookieless_anonymous",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "newsroom.urls"
WSGI_APPLICATION = "newsroom.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = settings_env.databases(ENV, BASE_DIR)
CACHES = settings_env.caches(ENV)
STORAGES = settings_env.storages(ENV)

STATIC_URL = "/static/"
STATIC_ROOT = Path(ENV.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
MEDIA_ROOT = Path(ENV.get("MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = ENV.get("MEDIA_URL") or "/media/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security. HTTPS-only settings (secure cookies, HSTS, SSL redirect) stay off
# because the course serves plain HTTP; see README.md.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The Host header is the one the client sent; X-Forwarded-Host and
# X-Forwarded-For are not trusted (the latter only appears in log lines).
USE_X_FORWARDED_HOST = False
USE_X_FORWARDED_PORT = False

LOG_LEVEL = ENV.get("DJANGO_LOG_LEVEL") or "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client": {"()": "newsroom.log.ClientAddressFilter"}},
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s [client %(client)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["client"],
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Replaces Django's default "django" logger so records are not printed twice.
    "loggers": {"django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}},
}
