"""HTML pages: public pages an upstream cache may share, and private logged-in pages."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from articles.forms import ArticleForm
from articles.models import Article

ANONYMOUS_MAX_AGE = 60
HOME_ARTICLES = 10

private = cache_control(private=True, no_store=True)


def public_for_anonymous(view):
    """Let upstream caches share the page among anonymous visitors for a minute.

    Logged-in users get their own menu and a CSRF token in the page, so theirs is private.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if request.user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        else:
            patch_cache_control(response, public=True, max_age=ANONYMOUS_MAX_AGE)
        return response

    return wrapper


def published():
    return Article.objects.filter(published_at__lte=timezone.now()).select_related("author")


@require_safe
@public_for_anonymous
def home(request):
    return render(request, "articles/home.html", {"articles": published()[:HOME_ARTICLES]})


@require_safe
@public_for_anonymous
def article_detail(request, slug):
    article = get_object_or_404(published(), slug=slug)
    return render(request, "articles/article_detail.html", {"article": article})


@require_safe
@private
@login_required
def dashboard(request):
    articles = request.user.articles.all()
    return render(request, "articles/dashboard.html", {"articles": articles})


@private
@login_required
def article_new(request):
    """The site's write path: a form with an optional image upload."""
    form = ArticleForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        article = form.save(commit=False)
        article.author = request.user
        article.save()
        return redirect(article)
    return render(request, "articles/article_form.html", {"form": form})

