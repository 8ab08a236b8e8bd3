//! Expected outputs were taken from PocketBase 0.40.6's `$template`.

use super::*;
use serde_json::json;

fn render_str(src: &str, data: Value) -> Result<String, String> {
    render(
        Path::new("/nonexistent"),
        &json!({"text": src, "data": data}),
    )
}

#[test]
fn prints_values_like_go_html_template() {
    let out = render_str(
        "[{{.s}}] [{{.n}}] [{{.f}}] [{{.big}}] [{{.b}}] [{{.nul}}] [{{.missing}}] [{{.arr}}] [{{.obj}}] [{{.small}}]",
        json!({"s": "<a href=\"x\">&'</a>", "n": 3, "f": 3.5, "big": 1234567.5, "b": true,
               "nul": null, "arr": [1, "a", null], "obj": {"b": 2, "a": "x"}, "small": 0.00001}),
    )
    .expect("render");
    assert_eq!(
        out,
        "[&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;] [3] [3.5] [1.2345675e&#43;06] [true] [] [] [[1 a &lt;nil&gt;]] [map[a:x b:2]] [1e-05]"
    );
}

#[test]
fn escapes_by_context_and_drops_comments() {
    let out = render_str(
        "<a href=\"{{.u}}\" title=\"{{.s}}\">x</a><a href=\"/p?q={{.s}}\">y</a><a href=\"{{.j}}\">z</a><!-- c {{.s}} -->end<p data-x={{.s}}>",
        json!({"u": "http://a.b/c d?x=1&y=\"2\"", "s": "a b&c/d\"", "j": "javascript:alert(1)"}),
    )
    .expect("render");
    assert_eq!(
        out,
        "<a href=\"http://a.b/c%20d?x=1&amp;y=%222%22\" title=\"a b&amp;c/d&#34;\">x</a><a href=\"/p?q=a%20b%26c%2fd%22\">y</a><a href=\"#ZgotmplZ\">z</a>end<p data-x=a&#32;b&amp;c/d&#34;>"
    );
}

#[test]
fn control_flow_variables_and_functions() {
    let data = json!({"items": [{"t": "a"}, {"t": "b"}], "m": {"z": 1, "a": 2}, "x": "",
                      "a": 3, "b": false, "p": 2.5, "h": "<b>hi</b>", "k": 1});
    let out = render_str(
        "{{range $i, $e := .items}}{{$i}}={{$e.t}};{{else}}none{{end}}|{{range .m}}{{.}},{{end}}|{{with .x}}X{{.}}{{else}}nox{{end}}|{{if and .a (not .b)}}yes{{end}}|{{len .items}}|{{index .items 1 \"t\"}}|{{printf \"%.2f %d %s %v\" .p 4 \"s\" .items}}|{{.h | raw}}|{{eq .a 1 2 3}}|{{if eq .a 3}}three{{else if .b}}b{{else}}other{{end}}",
        data.clone(),
    )
    .expect("render");
    assert_eq!(
        out,
        "0=a;1=b;|2,1,|nox|yes|2|b|2.50 4 s [map[t:a] map[t:b]]|<b>hi</b>|true|three"
    );
    assert_eq!(
        render_str(
            "a  {{- .a -}}  b {{/* c */}} {{- /* d */ -}} e",
            json!({"a": 1})
        )
        .expect("trim"),
        "a1b e"
    );
    assert_eq!(
        render_str("{{$x := 5}}{{$x}}{{$x = 6}}{{$x}}{{$}}", json!({"k": 1})).expect("vars"),
        "56map[k:1]"
    );
    assert_eq!(
        render_str("{{.a.b.c}}", json!({"a": {}})).expect("missing"),
        ""
    );
}

#[test]
fn layouts_with_define_block_and_template() {
    let mut set = Set::default();
    set.add(
        "layout.html",
        "<h1>{{block \"title\" .}}Default{{end}}</h1>{{template \"body\" .}}",
    )
    .expect("layout");
    set.add(
        "page.html",
        "{{define \"title\"}}Hi {{.name}}{{end}}\n{{define \"body\"}}<p>{{.name}}</p>{{end}}",
    )
    .expect("page");
    assert_eq!(
        set.render(&json!({"name": "<Ann>"})).expect("render"),
        "<h1>Hi &lt;Ann&gt;</h1><p>&lt;Ann&gt;</p>"
    );
}

#[test]
fn errors_and_unsupported_syntax_fail_loudly() {
    let err = |src: &str, data: Value| render_str(src, data).expect_err(src);
    assert_eq!(
        err("{{if}}", json!({})),
        "template: :1: missing value for if"
    );
    assert!(err("{{nofunc .a}}", json!({})).contains("function \"nofunc\" not defined"));
    assert!(err("{{.a.b}}", json!({"a": null})).contains("nil pointer evaluating"));
    assert!(err("{{.a.b}}", json!({"a": "s"})).contains("can't evaluate field b"));
    for src in [
        "<script>var x = {{.a}};</script>",
        "<style>p{color: {{.a}}}</style>",
        "<div onclick=\"f({{.a}})\">",
        "<div {{.a}}>",
        "{{range .a}}{{break}}{{end}}",
        "{{printf \"%e\" 1.5}}",
    ] {
        let e = err(src, json!({"a": "x"}));
        assert!(
            e.contains("not supported by Cairn's $template"),
            "{src}: {e}"
        );
    }
    for src in [
        "{{range 2000000000}}x{{end}}",
        "{{range 1000}}{{range 1000}}{{range 10}}x{{end}}{{end}}{{end}}",
    ] {
        assert!(err(src, json!({})).contains("limit"), "{src}");
    }
    // Text after a closed script is HTML text again.
    assert_eq!(
        render_str("<script>1</script>{{.a}}", json!({"a": "<"})).expect("after script"),
        "<script>1</script>&lt;"
    );
}

#[test]
fn data_is_never_template_source() {
    assert_eq!(
        render_str("{{.a}}", json!({"a": "{{.b}}"})).expect("render"),
        "{{.b}}"
    );
}

#[test]
fn files_are_read_only_inside_the_hooks_dir() {
    let dir = std::env::temp_dir().join(format!("cairn-tpl-{}", std::process::id()));
    let hooks = dir.join("pb_hooks");
    std::fs::create_dir_all(hooks.join("views")).expect("mkdir");
    std::fs::write(hooks.join("views/a.html"), "A{{.x}}").expect("write");
    std::fs::write(dir.join("secret.html"), "S").expect("write");
    let file = |f: &Path| json!({"files": [f.to_string_lossy()], "data": {"x": 1}});
    assert_eq!(
        render(&hooks, &file(&hooks.join("views/a.html"))),
        Ok("A1".into())
    );
    let out = render(&hooks, &file(&hooks.join("../secret.html"))).expect_err("outside");
    assert!(out.contains("outside the hooks directory"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
