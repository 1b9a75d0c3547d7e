"""JSON endpoints used by the course's checks (no CSRF: they are called by scripts).

Their responses carry no Cache-Control of their own, so the private_by_default
middleware keeps every upstream cache from storing them.
"""

import json
from pathlib import PurePosixPath

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.http import FileResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from PIL import Image

from articles.models import Marker

MAX_UPLOAD_BYTES = 1024 * 1024
#: What may be uploaded, by extension, with the image format Pillow must find in it (None: not an
#: image). Uploads are served from the site's own origin, so HTML, SVG or anything else a browser
#: could run as a page is refused; the load balancer serves what is not an image as a download.
UPLOAD_TYPES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WEBP",
                ".txt": None, ".pdf": None}
MARKER_MAX_LENGTH = Marker._meta.get_field("value").max_length


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def markers(request):
    """POST inserts a marker row (form or JSON field ``value``); GET counts the rows."""
    if request.method != "POST":
        return JsonResponse({"count": Marker.objects.count()})
    value = posted_value(request)
    if not value or len(value) > MARKER_MAX_LENGTH:
        return JsonResponse(
            {"error": f"'value' must be a string of 1 to {MARKER_MAX_LENGTH} characters"},
            status=400,
        )
    try:
        with transaction.atomic():
            marker = Marker.objects.create(value=value)
    except IntegrityError:
        return JsonResponse({"error": f"marker {value!r} already exists"}, status=409)
    return JsonResponse({"id": marker.id, "value": marker.value}, status=201)


def posted_value(request):
    """The ``value`` field of a JSON body or a form post, or None."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            return None
        value = data.get("value") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None
    return request.POST.get("value")


@require_safe
def marker_detail(request, value):
    """200 with the row if a marker with this value exists, else 404."""
    marker = Marker.objects.filter(value=value).first()
    if marker is None:
        return JsonResponse({"error": f"marker {value!r} not found"}, status=404)
    return JsonResponse(
        {"id": marker.id, "value": marker.value, "created_at": marker.created_at.isoformat()}
    )


@csrf_exempt
@require_POST
def upload(request):
    """Save the multipart field ``file`` (at most 1 MB, of an allowed type) under uploads/ in
    default_storage; answer its name and its URL on this site.

    Reading the file back through another web server proves media is shared.
    """
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return JsonResponse({"error": "multipart field 'file' is required"}, status=400)
    if uploaded.size > MAX_UPLOAD_BYTES:
        return JsonResponse(
            {"error": f"file is larger than {MAX_UPLOAD_BYTES} bytes"}, status=400
        )
    refusal = upload_refusal(uploaded)
    if refusal:
        return JsonResponse({"error": refusal}, status=400)
    name = default_storage.generate_filename(f"uploads/{uploaded.name}")
    name = default_storage.save(name, uploaded)
    return JsonResponse({"name": name, "url": default_storage.url(name)}, status=201)


def upload_refusal(uploaded):
    """Why `uploaded` may not be stored, or None: its extension must be allowed, and an
    image must be one (whatever the client claimed its type was)."""
    extension = PurePosixPath(uploaded.name).suffix.lower()
    allowed = ", ".join(sorted(UPLOAD_TYPES))
    if extension not in UPLOAD_TYPES:
        return f"{uploaded.name!r} is not an allowed type: upload a file ending in one of {allowed}"
    expected = UPLOAD_TYPES[extension]
    if expected is None:
        return None
    try:
        with Image.open(uploaded) as image:
            found = image.format
            image.verify()
    except (OSError, SyntaxError, ValueError):  # what Pillow raises for what is not an image
        found = None
    finally:
        uploaded.seek(0)
    if found != expected:
        return f"{uploaded.name!r} is not a {expected} image: its content must match its extension"
    return None


@require_safe
def uploaded(request, name):
    """Read back a file from default_storage: through another web server, this proves
    that uploads are on storage every web server shares."""
    if not name.startswith("uploads/") or ".." in name.split("/"):
        return JsonResponse({"error": "only files under uploads/ can be read"}, status=400)
    if not default_storage.exists(name):
        return JsonResponse({"error": f"{name} is not in this server's storage"}, status=404)
    return FileResponse(default_storage.open(name), content_type="application/octet-stream")
