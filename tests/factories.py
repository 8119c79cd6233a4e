from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User

from dunning.roles import roles_ensure


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
