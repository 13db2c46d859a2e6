// Render the TeX of one HTML page into inline SVG, so that the page shows its maths with no script,
// no font and no network (coursekit.workflow.feedback runs it for every feedback page).
//
// MathJax 3 (mathjax-full, pinned in package.json) is the MathJax that JupyterLab 4 renders notebooks
// with, so the feedback shows the formulas as the student saw them in the lab. It runs here in its
// "direct" mode on MathJax's own light DOM: the page's delimiters are found the way the browser's
// MathJax finds them (text outside <pre>, <code>, <script>, ...), and the SVG output with a page-wide
// glyph cache keeps each page small. The Safe extension filters what TeX written by a student may
// put into the page (links, classes, styles), as MathJax's Safe configuration does in a browser.
//
// Usage: NODE_PATH=<kit>/node_modules node render_maths.js < page.html > rendered.html
"use strict";
const {mathjax} = require("mathjax-full/js/mathjax.js");
const {TeX} = require("mathjax-full/js/input/tex.js");
const {SVG} = require("mathjax-full/js/output/svg.js");
const {liteAdaptor} = require("mathjax-full/js/adaptors/liteAdaptor.js");
const {RegisterHTMLHandler} = require("mathjax-full/js/handlers/html.js");
const {SafeHandler} = require("mathjax-full/js/ui/safe/SafeHandler.js");
const {AllPackages} = require("mathjax-full/js/input/tex/AllPackages.js");

function render(page) {
    const adaptor = liteAdaptor({fontSize: 16});
    SafeHandler(RegisterHTMLHandler(adaptor));
    const document = mathjax.document(page, {
        // nbconvert's delimiters: $...$ and \(...\) inline, $$...$$ and \[...\] displayed, \$ a dollar
        InputJax: new TeX({packages: AllPackages, inlineMath: [["$", "$"], ["\\(", "\\)"]],
                           processEscapes: true}),
        OutputJax: new SVG({fontCache: "global"}),
    });
    document.render();
    return adaptor.doctype(document.document) + "\n" + adaptor.outerHTML(adaptor.root(document.document));
}

const chunks = [];
process.stdin.on("data", chunk => chunks.push(chunk));
process.stdin.on("end", () => {
    process.stdout.write(render(Buffer.concat(chunks).toString("utf8")));
});
