from django.urls import path

from . import views

app_name = "jams"

urlpatterns = [
    path("", views.jam_list, name="list"),
    path("jams/new/", views.jam_create, name="create"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("jams/<slug:slug>/", views.jam_home, name="home"),
    path("jams/<slug:slug>/join/", views.jam_join, name="join"),
    path("jams/<slug:slug>/leave/", views.jam_leave, name="leave"),
    path("jams/<slug:slug>/console/", views.console, name="console"),
    path("jams/<slug:slug>/console/phases/", views.phase_add, name="phase_add"),
    path("jams/<slug:slug>/console/phases/<int:phase_id>/", views.phase_edit, name="phase_edit"),
    path("jams/<slug:slug>/console/transition/", views.transition, name="transition"),
    path("jams/<slug:slug>/console/topics/", views.topic_add, name="topic_add"),
    path("jams/<slug:slug>/console/topics/<int:topic_id>/", views.topic_edit, name="topic_edit"),
    path("jams/<slug:slug>/members/", views.members, name="members"),
    path("jams/<slug:slug>/members/link/", views.invitation_link_create, name="invitation_link"),
    path(
        "jams/<slug:slug>/members/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "jams/<slug:slug>/members/<int:membership_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "jams/<slug:slug>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
]
