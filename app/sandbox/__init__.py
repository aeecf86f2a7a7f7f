"""An in-memory stand-in for the GitHub API and App webhooks, for tests and `baton demo`."""

from app.sandbox.faults import Fault, FaultPlan
from app.sandbox.standin import RecordedRequest, StandIn
from app.sandbox.webhooks import AsgiWebhookSink, HttpWebhookSink, SentDelivery, WebhookSink

__all__ = [
    "AsgiWebhookSink",
    "Fault",
    "FaultPlan",
    "HttpWebhookSink",
    "RecordedRequest",
    "SentDelivery",
    "StandIn",
    "WebhookSink",
]
