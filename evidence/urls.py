from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("pack/", views.pack, name="pack"),
]
