"""The feedback pages' maths: one MathJax process for a run, each distinct fragment typeset once, with the
browser's MathJax rules (what it typesets and what it leaves alone)."""
import re

import pytest

from coursekit.workflow.maths import MathsRenderer, MathsRenderError


class CountingRenderer(MathsRenderer):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.asked = []

    def _ask(self, request):
        self.asked.append(request)
        return super()._ask(request)


@pytest.fixture(scope="module")
def renderer():
    with CountingRenderer() as maths:
        yield maths


def formulas(html):
    return re.findall(r"<mjx-container\b[^>]*>", html)


def test_each_distinct_fragment_is_typeset_once_by_one_process(renderer):
    fragment = "<p>The update is $W := W - \\alpha\\, dW$ and $$v = \\beta v + (1-\\beta) dW$$</p>"
    first = renderer.typeset(fragment).html
    process = renderer._process
    asked = len(renderer.asked)
    assert renderer.typeset(fragment).html == first
    assert len(renderer.asked) == asked and renderer._process is process
    assert len(formulas(first)) == 2 and 'display="true"' in formulas(first)[1]
    assert "$" not in re.sub(r"<[^>]+>", "", first)
    renderer.typeset("<p>another $x$</p>")
    assert renderer._process is process and len(renderer.asked) == asked + 1


def test_fragments_without_maths_are_not_sent(renderer):
    asked = len(renderer.asked)
    for fragment in ["<p>plain text</p>", "<pre>print('a')</pre>", ""]:
        assert renderer.typeset(fragment) == (fragment, {})
    assert len(renderer.asked) == asked


@pytest.mark.parametrize("fragment, typeset", [
    ("<pre>cost = $5</pre><p>$x$</p>", 1),           # code stays as it is written
    ("<p><code>$x$</code> and \\(y\\)</p>", 1),
    ("<p>costs \\$5 and \\$6</p>", 0),              # an escaped dollar is a dollar
    ("<p>\\[ \\sum_i x_i \\]</p>", 1),
    ("<div>\\begin{align} a &= b \\end{align}</div>", 1),
])
def test_what_mathjax_typesets_in_a_fragment(renderer, fragment, typeset):
    html = renderer.typeset(fragment).html
    assert len(formulas(html)) == typeset, html
    if "<pre>" in fragment:
        assert "<pre>cost = $5</pre>" in html
    if "\\$5" in fragment:
        assert re.sub(r"<[^>]+>", "", html) == "costs $5 and $6"


def test_a_tex_error_is_shown_where_it_is_and_the_others_render(renderer):
    html = renderer.typeset("<p>$\\frac{1}{$ then $y$</p>").html
    assert len(formulas(html)) >= 1 and "$y$" not in html


def test_student_tex_cannot_put_links_or_script_into_the_page(renderer):
    html = renderer.typeset(
        "<p>$\\href{javascript:alert(1)}{x}$ $\\class{evil}{y}$ $\\style{position:fixed}{z}$</p>").html
    assert "javascript:" not in html and "position:fixed" not in html.replace(" ", "")


def test_formulas_draw_glyphs_the_fragment_gives_once(renderer):
    first = renderer.typeset("<p>$x + x$</p>")
    second = renderer.typeset("<p>$x y$</p>")
    used = set(re.findall(r'href="#([^"]+)"', first.html))
    assert used == set(first.glyphs) and "id=" not in first.html
    assert all(re.fullmatch(r'<path id="MJX-TEX-[A-Z]+-[0-9A-F]+" d="[^"<>]*"></path>', path) for path in first.glyphs.values())
    assert first.glyphs["MJX-TEX-I-1D465"] == second.glyphs["MJX-TEX-I-1D465"]  # the same glyph, one id


def test_the_stylesheet_places_displayed_maths(renderer):
    css = renderer.stylesheet()
    assert 'mjx-container[jax="SVG"][display="true"]' in css and "display: block" in css


def test_node_ending_midway_is_a_named_error():
    maths = MathsRenderer()
    maths.typeset("<p>$x$</p>")
    maths._process.kill()
    maths._process.wait()
    with pytest.raises(MathsRenderError, match="feedback maths: MathJax failed"):
        maths.typeset("<p>$y$</p>")
    maths.close()
