"""Message bodies: which links become links, and what a reader sees of where they go."""

from __future__ import annotations

import pytest

from messaging.markup import body_render


class TestLinks:
    @pytest.mark.parametrize(
        "text",
        [
            "[Sign in](//evil.example/login)",
            "[Sign in](/accounts/sign-in/)",
            "[Sign in](http://evil.example/login)",
            "[Sign in](javascript:alert(1))",
            "[Sign in](data:text/html,hi)",
        ],
    )
    def test_only_absolute_https_and_mailto_become_links(self, text: str) -> None:
        assert "<a " not in body_render(text)

    def test_the_real_host_is_shown_beside_the_link_text(self) -> None:
        html = body_render("[Your results](https://evil.example/login)")
        assert '>Your results</a> <span class="link-host">(evil.example)</span>' in html

    def test_a_look_alike_host_shows_as_punycode(self) -> None:
        html = body_render("[Bank](https://\u0430\u0440\u0440\u04cf\u0435.com/)")
        assert "(xn--" in html

    def test_a_bare_https_address_becomes_a_link(self) -> None:
        html = body_render("Results at https://portal.example.org/results today")
        assert '<a href="https://portal.example.org/results"' in html
        assert "link-host" not in html  # the address is already the text

    def test_a_bare_name_without_a_scheme_stays_text(self) -> None:
        assert "<a " not in body_render("Call example.com or mail me@example.com")

    def test_a_mailto_link_shows_the_address(self) -> None:
        html = body_render("[the front desk](mailto:desk@clinic.example)")
        assert '<span class="link-host">(desk@clinic.example)</span>' in html

    def test_links_never_carry_the_referrer_or_an_opener(self) -> None:
        assert 'rel="noopener noreferrer nofollow"' in body_render("https://a.example/")

    def test_markup_in_the_link_text_or_host_stays_inert(self) -> None:
        html = body_render('[<img src=x onerror=alert(1)>](https://a.example/"><b>x</b>)')
        assert "<img" not in html and "<b>" not in html
