from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from dunning.governance.roles import roles_ensure


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@dunwell.test")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            if not Group.objects.filter(name=extracted).exists():
                roles_ensure()  # a transactional test flushed the migration's groups
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


# --- decisions and actions (written straight, as the decision service would leave them) --
class DecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dunning.Decision"

    trigger = "payment_failed"
    as_of = factory.LazyFunction(timezone.now)
    customer_id = factory.LazyAttribute(lambda d: d.invoice.customer_id)
    model_version = "recovery v1 + retry v1"
    segment = "self_serve"
    mode = "shadow"
    reasoning = "Retry on payday."


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dunning.Action"

    invoice_id = factory.LazyAttribute(lambda a: a.decision.invoice_id)
    customer_id = factory.LazyAttribute(lambda a: a.decision.customer_id)
    kind = "retry"
    mode = factory.LazyAttribute(lambda a: a.decision.mode)
