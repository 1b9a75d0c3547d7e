"""JSON endpoints used by the course's checks (no CSRF: they are called by scripts).

Their responses carry no Cache-Control of their own, so the private_by_default
middleware keeps every upstream cache from storing them.
"""

import json

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.http import FileResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from articles.models import Marker

MAX_UPLOAD_BYTES = 1024 * 1024
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
    """Save the multipart field ``file`` (at most 1 MB) under uploads/ in default_storage.

    Reading the file back through another web server proves media is shared.
    """
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return JsonResponse({"error": "multipart field 'file' is required"}, status=400)
    if uploaded.size > MAX_UPLOAD_BYTES:
        return JsonResponse(
            {"error": f"file is larger than {MAX_UPLOAD_BYTES} bytes"}, status=400
        )
    name = default_storage.generate_filename(f"uploads/{uploaded.name}")
    name = default_storage.save(name, uploaded)
    return JsonResponse({"name": name, "url": default_storage.url(name)}, status=201)


@require_safe
def uploaded(request, name):
    """Read back a file from default_storage: through another web server, this proves
    that uploads are on storage every web server shares."""
    if not name.startswith("uploads/") or ".." in name.split("/"):
        return JsonResponse({"error": "only files under uploads/ can be read"}, status=400)
    if not default_storage.exists(name):
        return JsonResponse({"error": f"{name} is not in this server's storage"}, status=404)
    return FileResponse(default_storage.open(name), content_type="application/octet-stream")
