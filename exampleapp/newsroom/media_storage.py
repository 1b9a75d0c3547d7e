"""The shared media bucket, with URLs on the site's own /media/ path.

The load balancer serves /media/ from the bucket (nginx's `location /media/`),
so a page or an API answer needs only that path. django-storages' S3Storage
would give the bucket's own address instead: on a workshop stack the media
server's private URL (http://10.x.y.51:8333/...), which names an internal
machine and which a visitor's browser cannot reach.
"""

from urllib.parse import urljoin

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class SiteMediaStorage(S3Storage):
    """S3Storage whose file URLs are MEDIA_URL + name (what the site serves at /media/)."""

    def url(self, name, parameters=None, expire=None, http_method=None):
        return urljoin(settings.MEDIA_URL, filepath_to_uri(self._normalize_name(clean_name(name))))
