"""The chat adapter: Slack's incoming webhook (docs/notifications.md)."""
