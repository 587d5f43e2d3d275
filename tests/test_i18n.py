"""French wording rules the templates rely on."""

from __future__ import annotations

import datetime as dt

from flask import Flask, render_template_string


def test_zero_and_one_take_the_singular_and_variables_stay_escaped(app: Flask) -> None:
    template = (
        '{{ ngettext("%(num)d action en retard", "%(num)d actions en retard", n) }}'
        '|{{ ngettext("%(num)d métier pour « %(q)s »", "%(num)d métiers pour « %(q)s »", n, q=q) }}'
    )
    with app.test_request_context():
        zero = render_template_string(template, n=0, q="<b>")
        two = render_template_string(template, n=2, q="x")
    assert zero == "0 action en retard|0 métier pour « &lt;b&gt; »"
    assert two == "2 actions en retard|2 métiers pour « x »"


def test_the_first_of_the_month_is_written_1er(app: Flask) -> None:
    template = (
        '{{ day|dateformat("d MMMM y") }}|{{ other|dateformat("d MMMM y") }}'
        '|{{ at|datetimeformat("EEEE d MMMM") }}'
    )
    with app.test_request_context():
        out = render_template_string(
            template,
            day=dt.date(2026, 10, 1),
            other=dt.date(2026, 10, 11),
            at=dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC),
        )
    assert out == "1er octobre 2026|11 octobre 2026|mardi 1er décembre"
