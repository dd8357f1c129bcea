// Renders the CSL-JSON on stdin with citation-js, in the styles reference managers default to
// (APA 7 and Harvard), and prints {style: text} as JSON. Run by tests/test_citation.py.
const { Cite } = require('@citation-js/core');
require('@citation-js/plugin-csl');

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const cite = new Cite(JSON.parse(input));
  const rendered = {};
  for (const template of ['apa', 'harvard1']) {
    rendered[template] = cite.format('bibliography', { format: 'text', template, lang: 'en-US' });
  }
  process.stdout.write(JSON.stringify(rendered));
});
