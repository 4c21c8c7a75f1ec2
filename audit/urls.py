from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_search, name="search"),
    path("events/<int:pk>/", views.event_detail, name="event_detail"),
    path("export/<str:fmt>/", views.event_export, name="export"),
    path("my-access/", views.my_access_log, name="my_access_log"),
]
