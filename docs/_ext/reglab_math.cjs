// Typeset TeX into SVG with MathJax 4 at build time (docs/_ext/reglab_math.py runs this once
// per build, for every equation no earlier build rendered).
//
// Usage: node reglab_math.cjs REQUEST.json RESULT.json (files: MathJax may log to stdout)
// request: {"modules": "<docs/node_modules>", "items": [[tex, display], ...]}
// result: {"version": MathJax's version, "css": the stylesheet the output needs,
//          "items": [{"html": "<mjx-container>..."} or {"error": "message"}, ...]}
//
// Output: SVG whose glyphs are <path>s in the equation's own <defs> (fontCache "local"; the
// Python side merges them into one <defs> per page), drawn in currentColor (dark mode), the
// assistive MathML beside it for screen readers (a11y/assistive-mml). A TeX error is reported,
// never drawn in red: the strict build fails on it.
'use strict';

const fs = require('fs');
const path = require('path');

const [requestFile, resultFile] = process.argv.slice(2);
const request = JSON.parse(fs.readFileSync(requestFile, 'utf8'));
const modules = request.modules;
const MathJax = require(path.join(modules, 'mathjax'));

MathJax.init({
  loader: {
    load: ['input/tex', 'output/svg', 'adaptors/liteDOM', 'a11y/assistive-mml'],
    paths: {fonts: path.join(modules, '@mathjax')},
  },
  tex: {formatError: (jax, err) => { throw err; }},
  svg: {fontCache: 'local'},
  startup: {typeset: false},
}).then(async (MJ) => {
  const adaptor = MJ.startup.adaptor;
  const items = [];
  for (const [tex, display] of request.items) {
    try {
      const node = await MJ.tex2svgPromise(tex, {display});
      // data-latex repeats the TeX of every sub-expression: the page carries the TeX once
      const html = adaptor.outerHTML(node).replace(/ data-latex="[^"]*"/g, '');
      items.push({html});
    } catch (err) {
      items.push({error: String(err.message || err)});
    }
  }
  const css = adaptor.textContent(MJ.svgStylesheet());
  fs.writeFileSync(resultFile, JSON.stringify({version: MJ.version, css, items}));
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
