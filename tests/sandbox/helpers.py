"""What the stand-in's tests share: the App and repository they use, and a githubkit client."""

from __future__ import annotations

from typing import Any

from githubkit import GitHub
from githubkit.cache import MemCacheStrategy

from app.sandbox import StandIn

APP_ID = 4242
SECRET = "it's a secret to everybody"
REPO = "acme/web"
OWNER, NAME = REPO.split("/")

# Reads a Projects v2 board: its id, title and fields (with a single select's options).
PROJECT_QUERY = """
query($login: String!, $number: Int!) {
  organization(login: $login) {
    projectV2(number: $number) {
      id
      title
      fields(first: 50) {
        nodes {
          ... on ProjectV2SingleSelectField { id name options { id name } }
          ... on ProjectV2Field { id name }
        }
      }
    }
  }
}
"""


def client_for(standin: StandIn, auth: Any) -> GitHub[Any]:
    return GitHub(
        auth,
        base_url=standin.base_url,
        async_transport=standin.transport(),
        auto_retry=False,
        cache_strategy=MemCacheStrategy(),  # the default cache is shared by every client
    )
