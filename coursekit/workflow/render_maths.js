// Typeset the TeX of HTML fragments into inline SVG, so that a feedback page shows its maths with no
// script, no font and no network (coursekit.workflow.feedback.MathsRenderer runs one of these for a whole
// feedback run and hands it each fragment of a page that holds maths).
//
// MathJax 3 (mathjax-full, pinned in package.json) is the MathJax that JupyterLab 4 renders notebooks
// with, so the feedback shows the formulas as the student saw them in the lab. It runs here in its
// "direct" mode on MathJax's own light DOM: a fragment's delimiters are found the way the browser's
// MathJax finds them (text outside <pre>, <code>, <script>, ...). Formulas draw their glyphs from a
// page-wide cache (fontCache "global": <use href="#MJX-TEX-I-1D465">, an id per glyph of the font):
// fragments are typeset one by one, so each answer gives its glyphs apart, and the page that puts
// fragments together holds each glyph its formulas use once. The Safe extension filters what TeX written
// by a student may put into the page (links, classes, styles), as MathJax's Safe configuration does in a
// browser.
//
// Protocol: one JSON object per line on stdin, {"html": fragment} or {"stylesheet": true}; one per line on
// stdout, in the same order, {"html": typeset fragment, "glyphs": {id: <path> element}}, {"css": the
// formulas' stylesheet} or {"error": message}.
// Usage: NODE_PATH=<kit>/node_modules node render_maths.js
"use strict";
const readline = require("readline");
const {mathjax} = require("mathjax-full/js/mathjax.js");
const {TeX} = require("mathjax-full/js/input/tex.js");
const {SVG} = require("mathjax-full/js/output/svg.js");
const {liteAdaptor} = require("mathjax-full/js/adaptors/liteAdaptor.js");
const {RegisterHTMLHandler} = require("mathjax-full/js/handlers/html.js");
const {SafeHandler} = require("mathjax-full/js/ui/safe/SafeHandler.js");
const {AllPackages} = require("mathjax-full/js/input/tex/AllPackages.js");

const adaptor = liteAdaptor({fontSize: 16});
SafeHandler(RegisterHTMLHandler(adaptor));

function newDocument(html) {
    return mathjax.document(html, {
        // nbconvert's delimiters: $...$ and \(...\) inline, $$...$$ and \[...\] displayed, \$ a dollar
        InputJax: new TeX({packages: AllPackages, inlineMath: [["$", "$"], ["\\(", "\\)"]],
                           processEscapes: true}),
        OutputJax: new SVG({fontCache: "global"}),
    });
}

function typeset(fragment) {
    const document = newDocument(fragment);
    document.render();
    const body = adaptor.body(document.document);
    const glyphs = {};
    for (const cache of adaptor.tags(body, "svg").filter(svg => adaptor.getAttribute(svg, "id") === GLYPH_CACHE)) {
        for (const defs of adaptor.tags(cache, "defs")) {
            for (const glyph of adaptor.childNodes(defs)) {
                glyphs[adaptor.getAttribute(glyph, "id")] = adaptor.outerHTML(glyph);
            }
        }
        adaptor.remove(cache);
    }
    return {html: adaptor.innerHTML(body), glyphs: glyphs};
}
const GLYPH_CACHE = "MJX-SVG-global-cache";

// The CSS a page needs once for all its formulas (display maths centred, error colours, ...): MathJax puts
// it into the <head> of the page it typesets; fragments have none, so the page asks for it once.
function stylesheet() {
    const document = newDocument("<p>$x$</p>");
    document.render();
    return adaptor.textContent(document.outputJax.styleSheet(document));
}

const lines = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
lines.on("line", line => {
    let answer;
    try {
        const request = JSON.parse(line);
        answer = request.stylesheet ? {css: stylesheet()} : typeset(request.html);
    } catch (error) {
        answer = {error: String(error && error.message || error)};
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
});
