from django.urls import path

from collections_desk import commitment_views, inbox_views, payment_views, survey_views, views

app_name = "collections_desk"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.queue_bulk, name="queue_bulk"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/claim/", views.case_claim_view, name="case_claim"),
    path("cases/<int:pk>/assign/", views.case_assign_view, name="case_assign"),
    path("cases/<int:pk>/notes/", views.case_note_view, name="case_note"),
    path("cases/<int:pk>/escalate/", views.case_escalate_view, name="case_escalate"),
    path(
        "cases/<int:pk>/record-payment/",
        payment_views.case_record_payment_view,
        name="case_record_payment",
    ),
    path("cases/<int:pk>/promise/", commitment_views.case_promise_view, name="case_promise"),
    path("cases/<int:pk>/tasks/", commitment_views.case_task_view, name="case_task"),
    path(
        "cases/<int:pk>/payment-plan/",
        commitment_views.case_payment_plan_view,
        name="case_payment_plan",
    ),
    path("tasks/", commitment_views.my_tasks, name="my_tasks"),
    path("tasks/<int:pk>/done/", commitment_views.task_done_view, name="task_done"),
    # Public: the customer's satisfaction survey (a signed, single-use link; no login).
    path("survey/<str:token>/", survey_views.csat_answer, name="csat_answer"),
    path("approvals/", inbox_views.inbox, name="inbox"),
    path("approvals/bulk/", inbox_views.inbox_bulk_approve, name="inbox_bulk_approve"),
    path("approvals/<int:pk>/approve/", inbox_views.action_approve_view, name="action_approve"),
    path("approvals/<int:pk>/reject/", inbox_views.action_reject_view, name="action_reject"),
    path("approvals/<int:pk>/edit/", inbox_views.action_edit_view, name="action_edit"),
]
