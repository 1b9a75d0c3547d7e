"""Project-wide middleware for running behind load balancers and caches."""

import socket

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.cache import patch_cache_control

HOSTNAME = socket.gethostname()


def served_by(get_response):
    """Name the web server in an X-Served-By header, to see how the balancer spreads requests."""

    def middleware(request):
        response = get_response(request)
        response["X-Served-By"] = HOSTNAME
        return response

    return middleware


def private_by_default(get_response):
    """Mark responses ``private, no-store`` unless the view set Cache-Control.

    An upstream cache (Varnish) then stores only pages a view declared
    public; redirects, errors and API answers are never shared.
    """

    def middleware(request):
        response = get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response

    return middleware


def cookieless_anonymous(get_response):
    """Treat a request without a session cookie as anonymous without opening the session.

    Reading ``request.user`` normally loads the session, and SessionMiddleware
    then adds ``Vary: Cookie``, which stops upstream caches from sharing the
    page. Without a session cookie nobody can be logged in, so the answer is
    known up front. Must come after AuthenticationMiddleware.
    """

    def middleware(request):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            request.user = AnonymousUser()
        return get_response(request)

    return middleware
