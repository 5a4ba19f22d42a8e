//! Appendix A as files: one print-ready HTML page (A4, Chinese, a page per form, the missing
//! facts listed first) and one CSV per form (UTF-8 with a BOM so spreadsheet programs read the
//! Chinese). Written with mode 600: they hold ID and phone numbers.

use super::appendix_a::{Cell, Form, missing};
use std::path::{Path, PathBuf};

pub const HTML_NAME: &str = "appendix-a.html";

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

pub fn csv(form: &Form) -> String {
    let mut out = String::from("\u{feff}");
    if form.pairs {
        out.push_str("项目,内容\n");
        for row in &form.rows {
            for pair in row.chunks(2) {
                let label = pair[0].text();
                if !label.is_empty() {
                    out.push_str(&format!(
                        "{},{}\n",
                        csv_field(&label),
                        csv_field(&pair.get(1).map(Cell::text).unwrap_or_default())
                    ));
                }
            }
        }
    } else {
        out.push_str(&form.columns.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
        for row in &form.rows {
            out.push_str(&row.iter().map(|c| csv_field(&c.text())).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
    }
    out
}

fn cell_html(c: &Cell, tag: &str) -> String {
    match c {
        Cell::Value(v) => format!("<{tag}>{}</{tag}>", escape(v)),
        Cell::Missing(name) => format!("<{tag} class=\"missing\">缺：{}</{tag}>", escape(name)),
        Cell::ForStamp => format!("<{tag} class=\"stamp\"></{tag}>"),
    }
}

fn form_html(form: &Form) -> String {
    let mut t = format!(
        "<section class=\"form\" id=\"{}\"><p class=\"caption\">表{} {}</p><h2>{}</h2>",
        form.id,
        form.id,
        escape(form.title),
        escape(form.heading)
    );
    if form.id == "A.1" {
        t.push_str("<p>申请单位：（盖章）</p>");
    }
    t.push_str("<table>");
    if form.pairs {
        for row in &form.rows {
            t.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                t.push_str(&cell_html(c, if i % 2 == 0 { "th" } else { "td" }));
            }
            t.push_str("</tr>");
        }
    } else {
        t.push_str("<thead><tr>");
        for c in &form.columns {
            t.push_str(&format!("<th scope=\"col\">{}</th>", escape(c)));
        }
        t.push_str("</tr></thead><tbody>");
        for row in &form.rows {
            t.push_str("<tr>");
            for c in row {
                t.push_str(&cell_html(c, "td"));
            }
            t.push_str("</tr>");
        }
        t.push_str("</tbody>");
    }
    t.push_str("</table>");
    for n in form.notes.iter().filter(|n| form.id != "A.1" || !n.starts_with("申请单位")) {
        t.push_str(&format!("<p class=\"note\">{}</p>", escape(n)));
    }
    t.push_str("</section>");
    t
}

pub const PRINT_CSS: &str = "@page{size:A4 landscape;margin:14mm}body{font-family:'Noto Sans CJK SC','Noto Serif CJK SC',sans-serif;color:#111;font-size:11pt}\
h1{font-size:16pt}h2{font-size:14pt;text-align:center}table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid #333;padding:6px;vertical-align:top;text-align:left}\
th{background:#eee}.missing{background:#fde2e2;color:#8a1010}.stamp{height:60px}.note{font-size:10pt}.caption{font-weight:bold}\
section{break-after:page;page-break-after:always}section:last-child{break-after:auto;page-break-after:auto}";

pub fn html(forms: &[Form]) -> String {
    let gaps = missing(forms);
    let mut page = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>附录A 申请表</title><style>{PRINT_CSS}</style></head><body><main>"
    );
    let gap_list = if gaps.is_empty() {
        "<p>资料齐全。All facts present.</p>".to_string()
    } else {
        format!(
            "<p class=\"missing\">缺少的资料 (missing facts, {}):</p><ul>{}</ul>",
            gaps.len(),
            gaps.iter().map(|g| format!("<li>{}</li>", escape(g))).collect::<String>()
        )
    };
    // The missing list rides on the first form's page: one page per form when printed.
    let mut first = true;
    for form in forms {
        let mut section = form_html(form);
        if first {
            section = section.replacen(
                "<section class=\"form\" id=\"A.1\">",
                &format!("<section class=\"form\" id=\"A.1\"><h1>附录A 接入流程申请表 Appendix A forms</h1>{gap_list}"),
                1,
            );
            first = false;
        }
        page.push_str(&section);
    }
    page.push_str("</main></body></html>");
    page
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes()).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

pub fn write(forms: &[Form], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut written = vec![dir.join(HTML_NAME)];
    write_private(&written[0], &html(forms))?;
    for form in forms {
        let path = dir.join(format!("{}.csv", form.id));
        write_private(&path, &csv(form))?;
        written.push(path);
    }
    Ok(written)
}
