from django.urls import path

from articles import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/new/", views.article_new, name="article_new"),
    path("articles/<slug:slug>/", views.article_detail, name="article_detail"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("api/markers/", api.markers, name="marker_list"),
    path("api/markers/<str:value>/", api.marker_detail, name="marker_detail"),
    path("api/uploads/", api.upload, name="upload"),
    path("api/uploads/<path:name>", api.uploaded, name="uploaded"),
]
