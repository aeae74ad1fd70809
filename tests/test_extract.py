"""Extracting text, metrics and items from HTML, JSON and feeds; numbers as pages print them."""

from __future__ import annotations

import json

import pytest

from consultantos.errors import InvalidArguments, SourceContentError
from consultantos.monitoring.extract import MAX_METRICS, extract
from consultantos.monitoring.fetch import FetchResult
from consultantos.monitoring.numeric import parse_number

URL = "http://127.0.0.1:9/source"


def answer(body: bytes | str, content_type: str = "text/html; charset=utf-8") -> FetchResult:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return FetchResult(
        url=URL,
        final_url=URL,
        status_code=200,
        headers={"content-type": content_type},
        body=raw,
        elapsed_ms=1.0,
        content_type=content_type.split(";")[0],
    )


PRICING = """<!DOCTYPE html>
<html><head><title>Acme pricing</title><style>.price{color:red}</style>
<script>var price = "$1";</script></head>
<body>
  <nav>Home | <a href="/p">Pricing</a></nav>
  <div class="plan"><h2>Basic</h2><span class="price">$1,299.00</span> per year</div>
  <div class="plan"><h2>Pro</h2><span class="price">€1.299,50</span></div>
  <div class="plan"><h2>Free</h2><span class="price">Contact us</span></div>
  <noscript>Enable JavaScript</noscript>
  <p>Save <b>20%</b>   today</p><!-- hidden comment -->
</body></html>"""


def test_html_visible_text_by_lines() -> None:
    extracted = extract(result=answer(PRICING), source_type="html")
    lines = extracted.text.splitlines()
    assert lines[0] == "Acme pricing"
    assert "Save 20% today" in lines  # inline elements stay on their line
    assert "Basic" in lines and "$1,299.00 per year" in lines
    text = extracted.text
    assert "color:red" not in text and "var price" not in text
    assert "Enable JavaScript" not in text and "hidden comment" not in text
    assert extracted.metrics == {} and extracted.items is None


def test_html_selector_gives_one_line_per_element_and_values() -> None:
    extracted = extract(result=answer(PRICING), source_type="html", selector=".price")
    assert extracted.text.splitlines() == ["$1,299.00", "€1.299,50", "Contact us"]
    assert extracted.metrics == {"element_count": 3, "value[0]": 1299.0, "value[1]": 1299.5}


def test_html_single_element_value() -> None:
    page = "<div class=plan><h2>Pro\n plan</h2><p class=price>-12.5 %</p></div>"
    extracted = extract(result=answer(page), source_type="html", selector=".plan")
    assert extracted.text == "Pro plan -12.5 %"
    assert extracted.metrics == {"element_count": 1, "value": -12.5}
    extracted = extract(result=answer(page), source_type="html", selector="h2")
    assert extracted.metrics == {"element_count": 1}


def test_html_selector_matching_nothing_is_a_content_error() -> None:
    with pytest.raises(SourceContentError, match=r"selector '\.missing' matched nothing on http"):
        extract(result=answer(PRICING), source_type="html", selector=".missing")


def test_html_invalid_selector_is_invalid_arguments() -> None:
    with pytest.raises(InvalidArguments, match="CSS selector"):
        extract(result=answer(PRICING), source_type="html", selector="a[[")


def test_binary_garbage_is_not_html() -> None:
    with pytest.raises(SourceContentError, match="not HTML"):
        extract(result=answer(b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"), source_type="html")
    with pytest.raises(SourceContentError, match="binary"):
        extract(
            result=answer(bytes(range(256)) * 4, "application/octet-stream"), source_type="html"
        )


def test_plain_text_is_its_own_text() -> None:
    extracted = extract(result=answer("index.html", "text/plain"), source_type="html")
    assert extracted.text == "index.html"
    with pytest.raises(SourceContentError, match="matched nothing"):
        extract(result=answer("just text", "text/plain"), source_type="html", selector="p")


def test_xml_is_parsed_as_xml() -> None:
    sitemap = '<?xml version="1.0"?><urlset><url><loc>https://acme.example/a</loc></url></urlset>'
    extracted = extract(result=answer(sitemap, "text/html"), source_type="html", selector="loc")
    assert extracted.text == "https://acme.example/a"


def test_legacy_charset_is_decoded() -> None:
    page = "<p class=price>Prix : 1&nbsp;299,00 €</p>".encode("cp1252")
    extracted = extract(
        result=answer(page, "text/html; charset=windows-1252"), source_type="html", selector="p"
    )
    assert extracted.text == "Prix : 1 299,00 €"  # the non-breaking space became a space
    assert extracted.metrics["value"] == 1299.0


PLANS = {"plans": [{"name": "Basic", "price": 99}, {"name": "Pro", "price": 19.5}], "ok": True}


def test_json_path_matches_become_lines_and_metrics() -> None:
    result = answer(json.dumps(PLANS), "application/json")
    extracted = extract(result=result, source_type="json", selector="$.plans[*].price")
    assert extracted.text == "99\n19.5"
    assert extracted.metrics == {"plans.[0].price": 99.0, "plans.[1].price": 19.5}
    extracted = extract(result=result, source_type="json", selector="$.plans[*]")
    assert extracted.text.splitlines()[0] == '{"name":"Basic","price":99}'
    assert extracted.metrics == {}


def test_json_whole_document_is_canonical_with_numeric_leaves() -> None:
    reordered = {"ok": True, "plans": [{"price": 99, "name": "Basic"}, {"price": 19.5}]}
    one = extract(result=answer(json.dumps(PLANS), "application/json"), source_type="json")
    two = extract(result=answer(json.dumps(reordered), "application/json"), source_type="json")
    assert one.text.splitlines()[0] == "{" and '"ok": true,' in one.text
    assert one.metrics == {"plans.[0].price": 99.0, "plans.[1].price": 19.5}
    assert two.metrics == {"plans.[0].price": 99.0, "plans.[1].price": 19.5}
    assert extract(result=answer("42"), source_type="json").metrics == {"$": 42.0}


def test_json_metrics_are_capped() -> None:
    big = json.dumps({"values": list(range(MAX_METRICS + 50))})
    assert len(extract(result=answer(big), source_type="json").metrics) == MAX_METRICS


def test_json_path_matching_nothing_and_invalid_json() -> None:
    result = answer(json.dumps(PLANS), "application/json")
    with pytest.raises(SourceContentError, match=r"JSONPath '\$\.missing' matched nothing"):
        extract(result=result, source_type="json", selector="$.missing")
    with pytest.raises(SourceContentError, match="is not valid JSON"):
        extract(result=answer("<html>nope</html>"), source_type="json")
    with pytest.raises(SourceContentError, match="is not valid JSON"):
        extract(result=answer('{"price": NaN}'), source_type="json")


RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Acme news</title>
<item><title>Launch  of X</title><link>https://acme.example/x</link>
  <guid isPermaLink="false">x-1</guid></item>
<item><title>Price cut</title><link>https://acme.example/cut</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Acme blog</title><id>urn:acme</id>
<updated>2025-01-01T00:00:00Z</updated>
<entry><title>Hello</title><id>urn:acme:1</id><link href="https://acme.example/hello"/>
<updated>2025-01-01T00:00:00Z</updated></entry>
</feed>"""


def test_rss_feed() -> None:
    extracted = extract(result=answer(RSS, "application/rss+xml"), source_type="feed")
    assert extracted.text.splitlines() == [
        "Launch of X — https://acme.example/x",
        "Price cut — https://acme.example/cut",
    ]
    assert extracted.items == ["x-1", "https://acme.example/cut"]
    assert extracted.metrics == {"item_count": 2}


def test_atom_feed() -> None:
    extracted = extract(result=answer(ATOM, "application/atom+xml"), source_type="feed")
    assert extracted.text == "Hello — https://acme.example/hello"
    assert extracted.items == ["urn:acme:1"]


def test_empty_but_valid_feed() -> None:
    empty = '<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    extracted = extract(result=answer(empty, "application/rss+xml"), source_type="feed")
    assert extracted.text == "" and extracted.items == [] and extracted.metrics["item_count"] == 0


@pytest.mark.parametrize("body", [PRICING, '{"a": 1}', b"\x00\x01\x02garbage", ""])
def test_not_a_feed(body: str | bytes) -> None:
    with pytest.raises(SourceContentError, match="is not an RSS or Atom feed"):
        extract(result=answer(body), source_type="feed")


def test_unknown_source_type() -> None:
    with pytest.raises(InvalidArguments, match="pdf"):
        extract(result=answer("x"), source_type="pdf")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("$1,299.00", 1299.0),
        ("€1.299,00", 1299.0),
        ("1.299,00 €", 1299.0),
        ("CHF 1'299.50", 1299.5),
        ("1\u00a0299,50 kr", 1299.5),
        ("-12.5%", -12.5),
        ("\u2212€5", -5.0),
        ("$-5.00", -5.0),
        ("SKU-42", 42.0),
        ("1,299", 1299.0),
        ("12,99", 12.99),
        ("0,299", 0.299),
        ("1.299", 1.299),
        ("1,299,000", 1299000.0),
        ("1.299.000", 1299000.0),
        ("version 1.2.3 costs $5", 5.0),
        ("Contact us", None),
    ],
)
def test_parse_number(text: str, number: float | None) -> None:
    assert parse_number(text) == number
