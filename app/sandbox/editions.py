"""What differs between GitHub.com and a GitHub Enterprise Server, as the stand-in plays them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Edition:
    name: str
    api_versions: tuple[str, ...]  # the values of X-GitHub-Api-Version it accepts, oldest first
    base_url: str  # the REST API's root; GraphQL is found from it as githubkit and Octokit do
    web_url: str  # where people browse: the root of every `html_url`
    apps_path: str  # an App's page: `{web_url}/{apps_path}/{slug}`
    # Fields GitHub.com's description requires and Enterprise Server's does not: the archive
    # fields of a label, and `role_name` of the user nested in a collaborator's permission.
    label_archive_fields: bool = True
    nested_role_name: bool = True

    def refusal_of_version(self, version: str) -> str | None:
        """GitHub's message for a request whose API version this server does not serve."""
        if version in self.api_versions:
            return None
        *older, newest = (f'"{v}"' for v in self.api_versions)
        supported = ", ".join([*older, f"{newest} (most recent)"])
        return (
            'The version you specified in the "X-GitHub-Api-Version" request header, '
            f'"{version}", is not a supported version. The following versions are currently '
            f"supported: {supported}."
        )


GITHUB_COM = Edition(
    "GitHub.com",
    ("2022-11-28", "2026-03-10"),
    "http://standin.test",
    "https://github.com",
    "apps",
)
# GitHub Enterprise Server 3.17 to 3.20: REST under /api/v3 and GraphQL at /api/graphql, one
# API version, and answers as its own description has them.
ENTERPRISE_SERVER = Edition(
    "GitHub Enterprise Server 3.17",
    ("2022-11-28",),
    "http://ghes.test/api/v3",
    "http://ghes.test",
    "github-apps",
    label_archive_fields=False,
    nested_role_name=False,
)


def graphql_path(rest_path: str) -> str:
    """Where GraphQL is served, for the REST API's path: `/api/v3` → `/api/graphql`."""
    rest_path = rest_path.rstrip("/")
    if rest_path.endswith("/api/v3"):
        return rest_path.removesuffix("/v3") + "/graphql"
    return f"{rest_path}/graphql"
