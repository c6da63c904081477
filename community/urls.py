from django.urls import path

from . import views

app_name = "community"

J = "jams/<slug:slug>/"

urlpatterns = [
    path(f"{J}wall/", views.wall, name="wall"),
    path(f"{J}wall/trending.json", views.wall_trending, name="wall_trending"),
    path(f"{J}help/", views.help_topic, name="help"),
    path(f"{J}help/radar/", views.help_radar, name="help_radar"),
    path(f"{J}help/radar/queue/", views.help_queue, name="help_queue"),
    path(f"{J}help/radar/<int:request_id>/claim/", views.help_claim, name="help_claim"),
    path(f"{J}help/radar/<int:request_id>/resolve/", views.help_resolve, name="help_resolve"),
    path(f"{J}help/shift/", views.shift, name="shift"),
    path(f"{J}guidelines/", views.guidelines, name="guidelines"),
    path(f"{J}guidelines/edit/", views.guidelines_edit, name="guidelines_edit"),
    path(f"{J}sessions/", views.sessions, name="sessions"),
    path(f"{J}sessions/<int:session_id>/", views.session, name="session"),
    path(
        f"{J}sessions/<int:session_id>/questions/",
        views.session_questions,
        name="session_questions",
    ),
    path(
        f"{J}sessions/<int:session_id>/questions/<int:post_id>/upvote/",
        views.session_upvote,
        name="session_upvote",
    ),
    path(
        f"{J}sessions/<int:session_id>/questions/<int:post_id>/answered/",
        views.session_answer,
        name="session_answer",
    ),
    path(f"{J}people/", views.directory, name="directory"),
    path(f"{J}people/<int:user_id>/", views.member, name="member"),
    path(f"{J}my-input/", views.my_input, name="my_input"),
    path("me/public-profile/", views.profile_edit, name="profile_edit"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/unread.json", views.notifications_unread, name="notifications_unread"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
