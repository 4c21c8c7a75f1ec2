from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse


class TestSecurityHeaders:
    def test_pages_forbid_framing_sniffing_and_cross_site_referrers(self, db: Any) -> None:
        response = Client().get(reverse("accounts:sign_in"))
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"

    def test_the_csp_allows_no_inline_or_eval_script(self, db: Any) -> None:
        policy = Client().get(reverse("accounts:sign_in"))["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy

    def test_pages_carry_no_inline_script(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.patient)
        for name in ("accounts:home", "accounts:security"):
            html = client.get(reverse(name)).content.decode()
            for chunk in html.split("<script")[1:]:
                head = chunk.split(">", 1)[0]
                assert "src=" in head or 'type="application/json"' in head, head
