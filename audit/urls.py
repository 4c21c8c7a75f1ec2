from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_search, name="search"),
    path("events/<int:pk>/", views.event_detail, name="event_detail"),
    path("export/<str:fmt>/", views.event_export, name="export"),
    path("review/", views.activity_review, name="activity_review"),
    path("review/record/", views.activity_review_record, name="activity_review_record"),
    path("my-access/", views.my_access_log, name="my_access_log"),
]
