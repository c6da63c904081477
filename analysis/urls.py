from django.urls import path

from . import views

app_name = "analysis"

urlpatterns = [
    path("jams/<slug:slug>/analysis/", views.analysis, name="analysis"),
    path("jams/<slug:slug>/analysis/run/", views.run_request, name="run"),
    path("jams/<slug:slug>/analysis/posts.csv", views.words_csv, name="words_csv"),
    path("jams/<slug:slug>/analysis/themes/merge/", views.themes_merge, name="merge"),
    path("jams/<slug:slug>/analysis/themes/<int:theme_id>/", views.theme, name="theme"),
    path(
        "jams/<slug:slug>/analysis/themes/<int:theme_id>/posts.csv",
        views.theme_csv,
        name="theme_csv",
    ),
    path(
        "jams/<slug:slug>/analysis/themes/<int:theme_id>/rename/",
        views.theme_rename,
        name="rename",
    ),
    path("jams/<slug:slug>/analysis/themes/<int:theme_id>/split/", views.theme_split, name="split"),
    path(
        "jams/<slug:slug>/analysis/themes/<int:theme_id>/pin/",
        views.theme_pin,
        {"pinned": True},
        name="pin",
    ),
    path(
        "jams/<slug:slug>/analysis/themes/<int:theme_id>/unpin/",
        views.theme_pin,
        {"pinned": False},
        name="unpin",
    ),
    path("jams/<slug:slug>/pulse/", views.pulse, name="pulse"),
    path("jams/<slug:slug>/report/", views.report, name="report"),
    path("jams/<slug:slug>/report/publish/", views.report_publish, name="report_publish"),
    path(
        "jams/<slug:slug>/report/download/<str:fmt>/",
        views.report_download,
        name="report_download",
    ),
]
