from django.urls import path

from . import views

app_name = "voting"

urlpatterns = [
    path("jams/<slug:slug>/voting/", views.index, name="index"),
    path("jams/<slug:slug>/voting/rounds/<int:round_id>/", views.round_vote, name="round"),
    path("jams/<slug:slug>/voting/rounds/<int:round_id>/pair/", views.pair_judge, name="pair"),
    path("jams/<slug:slug>/voting/rounds/<int:round_id>/ballot/", views.ballot_edit, name="ballot"),
    path(
        "jams/<slug:slug>/voting/rounds/<int:round_id>/results/",
        views.results,
        name="results",
    ),
]
