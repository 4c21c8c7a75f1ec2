from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("acknowledge/", views.acknowledge, name="acknowledge"),
    path("policies/", views.policies, name="policies"),
    path("policies/publish/", views.policy_publish, name="policy_publish"),
    path("policies/<int:document_id>/", views.policy, name="policy"),
    path("associates/", views.associates, name="associates"),
    path("associates/add/", views.associate_add, name="associate_add"),
    path("associates/<int:associate_id>/", views.associate, name="associate"),
    path("associates/<int:associate_id>/renew/", views.associate_renew, name="associate_renew"),
    path("associates/<int:associate_id>/end/", views.associate_end, name="associate_end"),
    path(
        "associates/<int:associate_id>/agreements/<int:agreement_id>/scan/",
        views.agreement_scan,
        name="agreement_scan",
    ),
]
