"""The delivery mix sent to every server: realistic payloads, signed once, written to files.

Payloads come from the stand-in's own deliveries (captured, not sent), so commands refer to
real incidents and comments. Where the GitHub reference folder exists, its real payloads (much
larger, as GitHub's are) replace the captured ones for the kinds that need no real object,
pointed at the stand-in's repository and installation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from githubkit.webhooks import sign

REPO_ROOT = Path(__file__).resolve().parents[1]

# kind -> (event, share of the deliveries). Most cause no GitHub request; which ones Baton
# stores is measured (the rows in its database), not assumed.
MIX: dict[str, tuple[str, int]] = {
    "issues.assigned": ("issues", 45),  # a bot assigns: an action no handler takes
    "comment": ("issue_comment", 35),  # no command, on an issue that is no incident
    "issues.labeled": ("issues", 15),  # a label that is neither severity nor status
    "command": ("issue_comment", 5),  # `/note …` on an incident
}
REFERENCE_FILES = {
    "issues.assigned": "issues/assigned.with-installation.payload.json",
    "comment": "issue_comment/created.with-installation.payload.json",
    "issues.labeled": "issues/labeled.with-organization.payload.json",
}


@dataclass(frozen=True)
class Signed:
    kind: str
    event: str
    signature: str
    body: str


def reference_folder() -> Path:
    default = REPO_ROOT.parent / "shared" / "github-reference"
    return Path(os.environ.get("BATON_GITHUB_REFERENCE", default)) / "webhooks" / "api.github.com"


def pointed_at(reference: dict[str, Any], captured: Mapping[str, Any]) -> dict[str, Any]:
    """A reference payload moved onto the captured one's repository, installation and issue."""
    payload = dict(reference)
    for key in ("repository", "installation", "organization"):
        if key in captured:
            payload[key] = captured[key]
    payload["issue"] = {**reference["issue"], "number": captured["issue"]["number"]}
    return payload


def payloads_by_kind(captured: Mapping[str, list[dict[str, Any]]]) -> dict[str, list[Any]]:
    folder = reference_folder()
    chosen: dict[str, list[Any]] = {}
    for kind in MIX:
        found = captured.get(kind)
        if not found:
            raise ValueError(f"the stand-in produced no {kind} delivery to replay")
        reference = folder / REFERENCE_FILES[kind] if kind in REFERENCE_FILES else None
        if reference is not None and reference.is_file():
            chosen[kind] = [pointed_at(json.loads(reference.read_text()), found[0])]
        else:
            chosen[kind] = list(found)
    return chosen


def signed_mix(captured: Mapping[str, list[dict[str, Any]]], secret: str) -> list[Signed]:
    """One hundred deliveries in the proportions of MIX, interleaved."""
    payloads = payloads_by_kind(captured)
    slots = [(kind, n) for kind, (_, share) in MIX.items() for n in range(share)]
    slots.sort(key=lambda slot: (slot[1] / MIX[slot[0]][1], slot[0]))
    signed = []
    for kind, n in slots:
        options = payloads[kind]
        body = json.dumps(options[n % len(options)], separators=(",", ":"))
        signed.append(Signed(kind, MIX[kind][0], sign(secret, body), body))
    return signed


def write_files(signed: list[Signed], folder: Path) -> tuple[Path, Path]:
    """The mix as JSON lines (for bench.loadgen) and as tab-separated lines (for wrk)."""
    jsonl, tsv = folder / "deliveries.jsonl", folder / "deliveries.tsv"
    jsonl.write_text(
        "".join(
            json.dumps({"event": s.event, "signature": s.signature, "body": s.body}) + "\n"
            for s in signed
        )
    )
    tsv.write_text("".join(f"{s.event}\t{s.signature}\t{s.body}\n" for s in signed))
    return jsonl, tsv


def mix_summary(signed: list[Signed]) -> dict[str, Any]:
    sizes = [len(s.body) for s in signed]
    return {
        "kinds": {kind: share for kind, (_, share) in MIX.items()},
        "mean_body_bytes": round(sum(sizes) / len(sizes)),
        "reference_payloads": reference_folder().is_dir(),
    }
