// $template in pb_hooks, the same on PocketBase 0.40.6 and Cairn: Go
// html/template syntax (a layout whose blocks a page defines, range/else,
// with, printf, raw, comments and trim markers) with contextual escaping in
// text, attributes and URLs. The expected outputs are PocketBase's.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { useServer, test, cairnOnly, REPO_ROOT } from './harness.mjs';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'plugins');

const srv = useServer(async (s) => {
  await fsp.cp(path.join(FIXTURES, 'template_hooks'), path.join(s.root, 'pb_hooks'), { recursive: true });
  await fsp.writeFile(path.join(s.root, 'outside.html'), 'secret {{.x}}');
  await s.restart();
});

const render = async (src, data) => {
  const r = await srv.api('POST', '/tpl/string', { body: { src, data } });
  return { status: r.status, text: r.text };
};

test('loadFiles renders a layout with blocks defined by a page, escaped as Go does', async () => {
  const r = await srv.api('GET', '/tpl/page');
  assert.equal(r.status, 200);
  assert.equal(r.text, PAGE);
});

test('loadString: values print as Go prints them, escaped by context', async () => {
  const cases = [
    ['[{{.s}}] [{{.n}}] [{{.b}}] [{{.nul}}] [{{.missing}}] [{{.arr}}] [{{.obj}}]',
      { s: `<a href="x">&'+</a>`, n: 3, b: true, nul: null, arr: [1, 'a', null], obj: { b: 2, a: 'x' } },
      '[&lt;a href=&#34;x&#34;&gt;&amp;&#39;&#43;&lt;/a&gt;] [3] [true] [] [] [[1 a &lt;nil&gt;]] [map[a:x b:2]]'],
    ['<a title="{{.s}}" href="/p?q={{.s}}">x</a><p data-x={{.s}}>',
      { s: 'a b&c/d"' },
      '<a title="a b&amp;c/d&#34;" href="/p?q=a%20b%26c%2fd%22">x</a><p data-x=a&#32;b&amp;c/d&#34;>'],
    ['{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}|{{range .none}}x{{else}}empty{{end}}|{{if eq .a "x"}}is x{{else if .a}}other{{end}}|{{$}}',
      { m: { z: 1, a: 2 }, none: [], a: 'y' },
      'a=2;z=1;|empty|other|map[a:y m:map[a:2 z:1] none:[]]'],
    ['a  {{- .a -}}  b {{/* c */}} {{- /* d */ -}} e {{$x := 5}}{{$x}}{{$x = 6}}{{$x}}',
      { a: 1 }, 'a1b e 56'],
    ['{{.a}}', { a: '{{.b}}' }, '{{.b}}'],
  ];
  for (const [src, data, want] of cases) {
    const r = await render(src, data);
    assert.deepEqual(r, { status: 200, text: want }, src);
  }
});

test('template errors are thrown to the hook', async () => {
  for (const [src, msg] of [
    ['{{if}}', 'template: :1: missing value for if'],
    ['{{nofunc .a}}', 'function "nofunc" not defined'],
    ['{{.a.b}}', 'nil pointer evaluating'],
  ]) {
    const r = await render(src, { a: null });
    assert.equal(r.status, 400, src);
    assert.ok(r.text.includes(msg), `${src}: ${r.text}`);
  }
});

test('Cairn: files outside the hooks directory and JS/CSS contexts are refused', { skip: cairnOnly }, async () => {
  const r = await srv.api('POST', '/tpl/file', { body: { file: path.join(srv.root, 'outside.html') } });
  assert.equal(r.status, 400);
  assert.match(r.text, /outside the hooks directory/);
  const rel = await srv.api('POST', '/tpl/file', { body: { file: 'pb_hooks/../outside.html' } });
  assert.match(rel.text, /outside the hooks directory/);
  for (const src of ['<script>var x = {{.a}}</script>', '<b style="color: {{.a}}">', '<b onclick="f({{.a}})">']) {
    const t = await render(src, { a: 'x' });
    assert.equal(t.status, 400, src);
    assert.match(t.text, /is not supported by Cairn's \$template/, src);
  }
});

const PAGE = "<!DOCTYPE html>\n<html><head><title>Shop: Tom &amp; &lt;Jerry&gt;</title></head>\n<body>\n\n\n<ul>\n  <li data-i=\"0\">apple: 2.50 (2.5)</li>\n  <li data-i=\"1\">b&#34;ig: %!f(int64=1000000) (1000000)</li>\n</ul>\n<a href=\"https://x.test/a%20b?q=1&amp;r=%222%22\">ok</a> <a href=\"#ZgotmplZ\">bad</a> <a href=\"/s?q=Tom%20%26%20%3cJerry%3e\">search</a>\n<b>bold</b> &lt;b&gt;bold&lt;/b&gt; \nno extras 2 items\n\n</body></html>\n";
