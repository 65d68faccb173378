"""deploy/nginx.conf: the webhooks are passed to the workers, /metrics never is."""

from __future__ import annotations

import re
from pathlib import Path

from bot.http import TELEGRAM_WEBHOOK_PATH, WHATSAPP_WEBHOOK_PATH

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"


def _locations() -> dict[str, str]:
    """Each `location` block's path (an exact `=` match or a prefix) -> its body."""
    text = CONF.read_text(encoding="utf-8")
    return {
        path: body
        for path, body in re.findall(
            r"location\s+(?:=\s*)?(\S+)\s*\{((?:[^{}]|\{[^{}]*\})*)\}", text
        )
    }


def test_both_webhooks_reach_the_workers_and_metrics_stays_closed() -> None:
    locations = _locations()
    for path in (TELEGRAM_WEBHOOK_PATH, WHATSAPP_WEBHOOK_PATH):
        assert "proxy_pass http://kurasi_workers" in locations.get(path, ""), path
    assert not any(path.startswith("/metrics") for path in locations)
    assert "return 404" in locations["/"]  # everything else, /metrics included
