from django.contrib import admin

from collections_desk.models import Case, EscalationTicket, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Routing is edited here; create teams with ``collections_desk.teams.team_create`` (it
    also grants the team's group its object permission)."""

    list_display = ("name", "routing_order", "segments", "countries", "group")
    fields = ("name", "routing_order", "segments", "countries")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("pk", "customer_id", "team", "assignee", "state", "priority", "sla_due_at")
    list_filter = ("state", "team", "segment")
    list_select_related = ("team", "assignee")
    readonly_fields = [f.name for f in Case._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(EscalationTicket)
class EscalationTicketAdmin(admin.ModelAdmin):
    list_display = ("pk", "case", "adapter", "external_id", "created_by", "created_at")
    readonly_fields = ("case", "adapter", "external_id", "created_by", "summary")
