//! Writes the sample report page, drawn from the test fixtures, to the path
//! given as the first argument or in `PERFHUB_HTML_OUT` (default
//! `report.html`): the page the browser test opens.
//!
//! ```sh
//! cargo run -p perfhub-html --example sample -- target/report.html
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let path = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PERFHUB_HTML_OUT").ok())
        .unwrap_or_else(|| "report.html".to_string());
    let html = common::sample_html();
    if let Err(e) = std::fs::write(&path, html) {
        eprintln!("error: cannot write {path}: {e}");
        std::process::exit(1);
    }
    eprintln!("wrote {path}");
}
