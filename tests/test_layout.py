"""The layout keeps the data flow one way (docs/architecture.md), and says so where it can't."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from django.utils.module_loading import import_string

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("dunning", "collections_desk", "analytics", "config")


def _sources():
    for package in PROJECT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), filename=str(path))


def _project_module(node: ast.AST) -> str | None:
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        name = node.module
    elif isinstance(node, ast.Import):
        name = node.names[0].name
    else:
        return None
    return name if name.split(".")[0] in PROJECT_PACKAGES else None


def _ready_methods(tree: ast.Module) -> set[ast.AST]:
    """AppConfig.ready: Django's one place for imports that need the app registry."""
    return {
        item
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for item in cls.body
        if isinstance(item, ast.FunctionDef) and item.name == "ready"
    }


def test_no_function_imports_project_code_to_dodge_a_cycle():
    hidden = []
    for path, tree in _sources():
        allowed = _ready_methods(tree)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if function in allowed:
                continue
            for node in ast.walk(function):
                if (module := _project_module(node)) is not None:
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
    assert hidden == []


def _job_paths():
    for path, tree in _sources():
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.endswith("_JOB")
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                yield f"{path.relative_to(ROOT)}:{node.targets[0].id}", node.value.value


def test_every_job_enqueued_by_its_path_is_a_job_that_exists():
    named = dict(_job_paths())
    assert len(named) >= 6  # the outbox's, the decision request's, the executor's, the settle
    for where, dotted in named.items():
        assert callable(import_string(dotted)), where


def test_each_layer_imports_only_the_layers_below_it():
    # The contracts of pyproject.toml: the layers in the flow's order, no entry point imported.
    linter = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:]


def test_production_installs_no_sandbox_and_offers_no_demo():
    production = {
        **os.environ,
        "DUNWELL_PRODUCTION": "True",
        "SECRET_KEY": "layout-test-" + "x" * 50,
        "CHARGEBEE_WEBHOOK_PASSWORD": "layout-test",
        "ALLOWED_HOSTS": "dunwell.example.com",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    script = (
        "import django; django.setup(); from django.conf import settings;"
        "from django.core.management import get_commands;"
        "print('sandbox' in settings.INSTALLED_APPS, 'demo' in get_commands())"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=production, capture_output=True, text=True
    )
    assert run.stdout.split() == ["False", "False"], run.stderr[-2000:]
