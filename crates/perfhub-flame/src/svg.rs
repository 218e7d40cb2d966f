//! Flame graphs and differential flame graphs as interactive SVG, drawn by
//! inferno.

use std::io::Write;

use inferno::flamegraph::color::{BasicPalette, Palette};

use crate::{FlameError, StackProfile, WeightUnit, folded};

/// How a flame graph is drawn.
///
/// Build one with [`FlameOptions::new`] or `..Default::default()`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlameOptions {
    /// The title at the top of the graph.
    pub title: String,
    /// A line under the title (for example the input's name), if any.
    pub subtitle: Option<String>,
    /// What the weights count, as the graph names them ("samples",
    /// "bytes"); by default taken from the profile's [`WeightUnit`].
    pub count_name: Option<String>,
    /// Draw an icicle graph: roots at the top, growing down.
    pub inverted: bool,
    /// Differential graphs only: scale the "before" profile to the total of
    /// the "after" one, so that a profile taken over a longer time does not
    /// turn everything red (inferno's `--normalize`).
    pub normalize: bool,
}

impl Default for FlameOptions {
    fn default() -> Self {
        FlameOptions::new("Flame Graph")
    }
}

impl FlameOptions {
    /// Options with this title and everything else as inferno draws it.
    pub fn new(title: impl Into<String>) -> Self {
        FlameOptions {
            title: title.into(),
            subtitle: None,
            count_name: None,
            inverted: false,
            normalize: false,
        }
    }

    fn inferno(&self, unit: Option<WeightUnit>) -> inferno::flamegraph::Options<'static> {
        let mut opt = inferno::flamegraph::Options::default();
        opt.title = xml_safe(&self.title);
        opt.subtitle = self.subtitle.as_deref().map(xml_safe);
        opt.count_name = match &self.count_name {
            Some(name) => xml_safe(name),
            None => count_name(unit).to_string(),
        };
        if matches!(unit, Some(WeightUnit::Bytes | WeightUnit::Count)) {
            opt.colors = Palette::Basic(BasicPalette::Mem);
        }
        if self.inverted {
            opt.direction = inferno::flamegraph::Direction::Inverted;
        }
        opt
    }
}

/// The name of one unit of weight in a graph.
fn count_name(unit: Option<WeightUnit>) -> &'static str {
    match unit {
        Some(WeightUnit::Samples) | None => "samples",
        Some(WeightUnit::Nanoseconds) => "nanoseconds",
        Some(WeightUnit::Bytes) => "bytes",
        Some(WeightUnit::Count) => "events",
    }
}

/// Writes `profile` as an interactive flame graph (SVG with inferno's
/// search and zoom).
///
/// Frame names may hold anything: inferno escapes XML's special
/// characters, and characters XML 1.0 cannot hold at all (control
/// characters) become U+FFFD. A `;` in a name is drawn as `；` (see
/// [`to_folded`](crate::to_folded)). A profile without weight is refused
/// with [`FlameError::EmptyProfile`] rather than drawn as an empty graph.
pub fn write_flamegraph(
    profile: &StackProfile,
    options: &FlameOptions,
    writer: impl Write,
) -> Result<(), FlameError> {
    if profile.total() == 0 {
        return Err(FlameError::EmptyProfile);
    }
    let lines = folded_lines(profile);
    let mut opt = options.inferno(profile.unit);
    inferno::flamegraph::from_lines(&mut opt, lines.lines(), writer)?;
    Ok(())
}

/// Writes a differential flame graph from `before` to `after`, as inferno's
/// `diff-folded` followed by `flamegraph` draws it: the shape is `after`,
/// red where a frame grew since `before` and blue where it shrank.
///
/// Frames found only in `before` do not appear (they have no width in
/// `after`); draw the graph with the profiles swapped to see them. Either
/// profile without weight is refused with [`FlameError::EmptyProfile`]:
/// against an empty `before`, every frame would show as pure growth.
pub fn write_diff_flamegraph(
    before: &StackProfile,
    after: &StackProfile,
    options: &FlameOptions,
    writer: impl Write,
) -> Result<(), FlameError> {
    if before.total() == 0 || after.total() == 0 {
        return Err(FlameError::EmptyProfile);
    }
    let diff_options = inferno::differential::Options {
        normalize: options.normalize,
        strip_hex: false,
    };
    let mut diff = Vec::new();
    inferno::differential::from_readers(
        diff_options,
        folded_lines(before).as_bytes(),
        folded_lines(after).as_bytes(),
        &mut diff,
    )?;
    let diff = String::from_utf8(diff)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut opt = options.inferno(after.unit.or(before.unit));
    inferno::flamegraph::from_lines(&mut opt, diff.lines(), writer)?;
    Ok(())
}

/// Folded stacks with every frame name made safe for XML.
fn folded_lines(profile: &StackProfile) -> String {
    let mut out = String::new();
    let mut stack = String::new();
    for (frames, weight) in &profile.stacks {
        stack.clear();
        folded::push_stack(&mut stack, frames);
        out.push_str(&xml_safe(&stack));
        out.push(' ');
        out.push_str(&weight.to_string());
        out.push('\n');
    }
    out
}

/// `s` with every character XML 1.0 cannot hold, even escaped, replaced by
/// U+FFFD (escaping `<`, `&` and quotes is inferno's job).
fn xml_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c < ' ' || ('\u{7F}'..='\u{9F}').contains(&c) => '\u{FFFD}',
            '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEIRD: &[&str] = &[
        "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop",
        "core::ptr::drop_in_place<&mut [u8; 4]>",
        "say \"hi\" & 'bye'",
        "a > b && c < d",
        "]]> <!-- --> <![CDATA[ x",
        "&amp; &lt; &#x27;",
        "ctrl\u{1}\u{8}\u{1b}char\u{7f}\u{fffe}",
        "日本語::関数",
    ];

    fn weird_profile(unit: WeightUnit) -> StackProfile {
        let mut p = StackProfile::new(unit);
        for (i, name) in WEIRD.iter().enumerate() {
            p.add(vec!["main".into(), name.to_string()], 10 + i as u64);
            p.add(
                vec!["main".into(), "outer".into(), name.to_string()],
                5 + i as u64,
            );
        }
        p
    }

    /// Parses `svg` as XML, and returns the text of every `<title>`.
    fn titles(svg: &str) -> Vec<String> {
        let opts = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(svg, opts)
            .unwrap_or_else(|e| panic!("the SVG is not valid XML: {e}\n{svg}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        doc.descendants()
            .filter(|n| n.has_tag_name("title"))
            .filter_map(|n| n.text().map(str::to_string))
            .collect()
    }

    fn render(p: &StackProfile, options: &FlameOptions) -> String {
        let mut out = Vec::new();
        write_flamegraph(p, options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn weird_frame_names_make_valid_xml() {
        let mut options = FlameOptions::new("title <with> \"markup\" & 'quotes'");
        options.subtitle = Some("sub & <title>".into());
        let svg = render(&weird_profile(WeightUnit::Samples), &options);
        let titles = titles(&svg);
        // The names come back whole after XML unescaping.
        for name in &WEIRD[..6] {
            let name = name.replace(';', "；");
            assert!(
                titles.iter().any(|t| t.starts_with(&format!("{name} ("))),
                "no frame titled {name:?} in {titles:?}"
            );
        }
        assert!(titles.iter().any(|t| t.starts_with("ctrl\u{fffd}\u{fffd}")));
        assert!(titles.iter().any(|t| t.starts_with("日本語::関数 (")));
        assert!(svg.contains("title &lt;with&gt;"), "the title is escaped");
        assert!(svg.contains("samples"), "count name");
        assert!(svg.contains("function search"), "interactive search script");
    }

    #[test]
    fn names_the_count_after_the_unit() {
        let svg = render(&weird_profile(WeightUnit::Bytes), &FlameOptions::default());
        let titles = titles(&svg);
        assert!(titles.iter().any(|t| t.contains(" bytes, ")), "{titles:?}");
        let mut options = FlameOptions::new("t");
        options.count_name = Some("allocations".into());
        options.inverted = true;
        let svg = render(&weird_profile(WeightUnit::Count), &options);
        assert!(titles_contain(&svg, " allocations, "));
    }

    fn titles_contain(svg: &str, needle: &str) -> bool {
        titles(svg).iter().any(|t| t.contains(needle))
    }

    #[test]
    fn frame_widths_follow_the_weights() {
        let mut p = StackProfile::new(WeightUnit::Samples);
        p.add(vec!["main".into(), "hot".into()], 75);
        p.add(vec!["main".into(), "cold".into()], 25);
        let svg = render(&p, &FlameOptions::default());
        let titles = titles(&svg);
        assert!(
            titles.contains(&"hot (75 samples, 75.00%)".to_string()),
            "{titles:?}"
        );
        assert!(
            titles.contains(&"cold (25 samples, 25.00%)".to_string()),
            "{titles:?}"
        );
        assert!(
            titles.contains(&"main (100 samples, 100.00%)".to_string()),
            "{titles:?}"
        );
    }

    #[test]
    fn refuses_an_empty_profile() {
        let p = StackProfile::new(WeightUnit::Samples);
        let e = write_flamegraph(&p, &FlameOptions::default(), Vec::new()).unwrap_err();
        assert!(matches!(e, FlameError::EmptyProfile), "{e}");
    }

    #[test]
    fn diff_refuses_an_empty_side() {
        let mut p = StackProfile::new(WeightUnit::Samples);
        p.add(vec!["main".into()], 1);
        let empty = StackProfile::new(WeightUnit::Samples);
        for (before, after) in [(&empty, &p), (&p, &empty)] {
            let e = write_diff_flamegraph(before, after, &FlameOptions::default(), Vec::new())
                .unwrap_err();
            assert!(matches!(e, FlameError::EmptyProfile), "{e}");
        }
    }

    #[test]
    fn diff_colors_growth_and_shrinkage() {
        let mut before = StackProfile::new(WeightUnit::Samples);
        before.add(vec!["main".into(), "grows".into()], 10);
        before.add(vec!["main".into(), "shrinks".into()], 90);
        before.add(vec!["main".into(), "gone".into()], 5);
        let mut after = StackProfile::new(WeightUnit::Samples);
        after.add(vec!["main".into(), "grows".into()], 60);
        after.add(vec!["main".into(), "shrinks".into()], 40);
        after.add(vec!["main".into(), "<new> & \"odd\"".into()], 5);
        let mut out = Vec::new();
        write_diff_flamegraph(&before, &after, &FlameOptions::new("diff"), &mut out).unwrap();
        let svg = String::from_utf8(out).unwrap();
        let titles = titles(&svg);
        assert!(
            titles
                .iter()
                .any(|t| t.starts_with("grows (60 samples") && t.contains("; +")),
            "{titles:?}"
        );
        assert!(
            titles
                .iter()
                .any(|t| t.starts_with("shrinks (40 samples") && t.contains("; -")),
            "{titles:?}"
        );
        assert!(
            titles
                .iter()
                .any(|t| t.starts_with("<new> & \"odd\" (5 samples"))
        );
        assert!(!titles.iter().any(|t| t.starts_with("gone")), "{titles:?}");
    }

    #[test]
    fn diff_of_weird_names_is_valid_xml() {
        let before = weird_profile(WeightUnit::Samples);
        let mut after = weird_profile(WeightUnit::Samples);
        after.add(vec!["main".into(), WEIRD[0].into()], 100);
        let mut options = FlameOptions::new("diff");
        options.normalize = true;
        let mut out = Vec::new();
        write_diff_flamegraph(&before, &after, &options, &mut out).unwrap();
        titles(&String::from_utf8(out).unwrap());
    }
}
