"""A broadcast's text as Telegram's HTML parser reads it, and as WhatsApp formats it."""

from __future__ import annotations

import pytest

from handlers.features.broadcast.markup import check_telegram_html, whatsapp_text


@pytest.mark.parametrize(
    "text",
    [
        "<b>Pameran</b> baru",
        "<strong>a</strong> <em>b</em> <u>c</u> <s>d</s> <del>e</del> <ins>f</ins>",
        '<a href="https://kurasi.id/katalog?x=1&amp;y=2">katalog</a>',
        '<span class="tg-spoiler">rahasia</span> <tg-spoiler>juga</tg-spoiler>',
        '<pre><code class="language-python">print(1)</code></pre>',
        "<blockquote expandable>kutipan</blockquote>",
        "1 &lt; 2 &amp;&amp; 3 &gt; 2 &quot;ok&quot; &#128512; &#x1F600;",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "<b>tebal <i>dan miring</i></b>",
    ],
)
def test_what_telegram_accepts_passes(text: str) -> None:
    assert check_telegram_html(text) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>tebal", "never closed"),
        ("tebal</b>", "no opening tag"),
        ("<b><i>x</b></i>", "cross"),
        ("<br>", "does not know"),
        ("<div>x</div>", "does not know"),
        ("1 < 2", "&lt;"),
        ("Tom & Jerry", "&amp;"),
        ("&nbsp;", "&amp;"),
        ('<a href="javascript:alert(1)">x</a>', "http"),
        ("<a>x</a>", "http"),
        ('<span class="x">y</span>', "attribute"),
        ('<b style="x">y</b>', "attribute"),
        ("<code><b>x</b></code>", "inside code"),
        ("<b></b>", "no text"),
        ("x" * 4097, "4096"),
    ],
)
def test_what_telegram_refuses_is_refused_with_the_reason(text: str, reason: str) -> None:
    problem = check_telegram_html(text)
    assert problem is not None and reason in problem.english


@pytest.mark.parametrize(
    ("html", "whatsapp"),
    [
        ("<b>Pameran</b> baru", "*Pameran* baru"),
        ("a<b> tebal </b>b", "a *tebal* b"),  # markers next to words, as WhatsApp reads them
        ("<i>miring</i> <s>coret</s>", "_miring_ ~coret~"),
        ("<u>garis</u> <tg-spoiler>rahasia</tg-spoiler>", "garis rahasia"),
        ('Daftar <a href="https://kurasi.id">di sini</a>', "Daftar di sini (https://kurasi.id)"),
        ("1 &lt; 2 &amp; 3", "1 < 2 & 3"),
        ("<pre><code>x = 1</code></pre>", "```x = 1```"),
        ("<b></b>kosong", "kosong"),
    ],
)
def test_whatsapp_gets_the_text_without_tags_in_its_own_formatting(
    html: str, whatsapp: str
) -> None:
    assert whatsapp_text(html) == whatsapp
