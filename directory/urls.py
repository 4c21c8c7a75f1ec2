from django.urls import path

from directory import views

app_name = "directory"

urlpatterns = [
    path("", views.search, name="search"),
    path("patients/<int:patient_id>/", views.patient, name="patient"),
    path("patients/<int:patient_id>/invitation/", views.patient_reinvite, name="patient_reinvite"),
    path("patients/<int:patient_id>/recovery/", views.patient_recover, name="patient_recover"),
    path("patients/<int:patient_id>/care-team/", views.care_team_add, name="care_team_add"),
    path(
        "patients/<int:patient_id>/care-team/<int:staff_id>/remove/",
        views.care_team_remove,
        name="care_team_remove",
    ),
    path("patients/<int:patient_id>/account/", views.patient_offboard, name="patient_offboard"),
    path("patients/<int:patient_id>/proxies/new/", views.proxy_add, name="proxy_add"),
    path(
        "patients/<int:patient_id>/proxies/<uuid:link_id>/evidence/",
        views.proxy_evidence,
        name="proxy_evidence",
    ),
    path(
        "patients/<int:patient_id>/proxies/<uuid:link_id>/end/",
        views.proxy_revoke,
        name="proxy_revoke",
    ),
    path(
        "patients/<int:patient_id>/proxies/<uuid:link_id>/invitation/",
        views.proxy_reinvite,
        name="proxy_reinvite",
    ),
    path(
        "patients/<int:patient_id>/proxies/<uuid:link_id>/recovery/",
        views.proxy_recover,
        name="proxy_recover",
    ),
    path(
        "patients/<int:patient_id>/proxies/<uuid:link_id>/suspend/",
        views.proxy_suspend,
        name="proxy_suspend",
    ),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/<int:staff_id>/", views.staff, name="staff"),
    path("staff/<int:staff_id>/recovery/", views.staff_recover, name="staff_recover"),
    path("staff/<int:staff_id>/invitation/", views.staff_reinvite, name="staff_reinvite"),
    path("staff/<int:staff_id>/account/", views.staff_offboard, name="staff_offboard"),
    path("staff/<int:staff_id>/role/", views.staff_role, name="staff_role"),
]
