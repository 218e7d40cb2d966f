//! Brendan Gregg's folded stacks: one `frame;frame;frame weight` line per
//! stack, root first.

use std::fmt::Write as _;

use crate::{FlameError, FoldedProblem, StackProfile, UNKNOWN_FRAME};

/// What a `;` inside a frame name becomes in folded output: U+FF1B
/// FULLWIDTH SEMICOLON, which reads the same (`[u8； 4]`) but does not
/// split the frame.
pub const SEMICOLON_REPLACEMENT: char = '\u{FF1B}';

/// What the `#` starting a root frame becomes in folded output when the
/// line would otherwise read as a comment: U+FF03 FULLWIDTH NUMBER SIGN.
pub const NUMBER_SIGN_REPLACEMENT: char = '\u{FF03}';

/// Whether a folded line (trimmed) is a comment: `#`, then whitespace.
fn is_comment(line: &str) -> bool {
    line.strip_prefix('#')
        .is_some_and(|rest| rest.starts_with(char::is_whitespace))
}

/// Writes `profile` as folded stacks, one line per stack, in the order of
/// [`StackProfile::stacks`].
///
/// Folded stacks cannot hold every frame name, so names are changed on
/// write, never silently dropped:
/// - a `;` (Rust array types: `[u8; 4]`) becomes [`SEMICOLON_REPLACEMENT`];
/// - a line break becomes a space;
/// - an empty name, and an empty stack, become `[unknown]` (perf's
///   spelling), so their weight still counts;
/// - a root frame whose line would read as a comment (`#` and then
///   whitespace, or `#` alone on its line) starts with
///   [`NUMBER_SIGN_REPLACEMENT`] instead.
pub fn to_folded(profile: &StackProfile) -> String {
    let mut out = String::new();
    for (stack, weight) in &profile.stacks {
        push_stack(&mut out, stack);
        let _ = writeln!(out, " {weight}");
    }
    out
}

/// Appends the folded form of `stack` (no weight).
pub(crate) fn push_stack(out: &mut String, stack: &[String]) {
    if stack.is_empty() {
        out.push_str(UNKNOWN_FRAME);
        return;
    }
    for (i, frame) in stack.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        if frame.is_empty() {
            out.push_str(UNKNOWN_FRAME);
            continue;
        }
        let mut chars = frame.chars();
        // `#` alone is followed by the weight's space.
        let alone = frame == "#" && stack.len() == 1;
        if i == 0 && (alone || is_comment(frame)) {
            chars.next();
            out.push(NUMBER_SIGN_REPLACEMENT);
        }
        for c in chars {
            out.push(match c {
                ';' => SEMICOLON_REPLACEMENT,
                '\n' | '\r' => ' ',
                c => c,
            });
        }
    }
}

/// Reads folded stacks: one `frame;frame;frame weight` line per stack,
/// root first, the weight after the last run of whitespace (frame names
/// may hold spaces).
///
/// Blank lines are skipped, and so are comments, lines starting with `#`
/// and whitespace (inferno skips `# `). The same stack on several lines adds up. Any other line
/// that does not parse refuses the whole input, naming its 1-based number:
/// a profile is never drawn half-right, nor with weights that add up past
/// `u64::MAX`. The weight unit of folded stacks is not written down, so the
/// result has none.
pub fn parse_folded(text: &str) -> Result<StackProfile, FlameError> {
    let mut profile = StackProfile::default();
    let mut total: u64 = 0;
    for (i, line) in text.lines().enumerate() {
        let fail = |problem| FlameError::Folded {
            line: i + 1,
            problem,
        };
        let line = line.trim();
        if line.is_empty() || is_comment(line) {
            continue;
        }
        let Some((stack, weight)) = line.rsplit_once(char::is_whitespace) else {
            return Err(fail(if line.parse::<u64>().is_ok() {
                FoldedProblem::EmptyStack
            } else {
                FoldedProblem::MissingWeight
            }));
        };
        let stack = stack.trim_end();
        let weight: u64 = match weight.parse() {
            Ok(w) => w,
            // `main;work` alone: the last frame is no weight at all.
            Err(_) if !weight.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                return Err(fail(FoldedProblem::MissingWeight));
            }
            Err(_) => return Err(fail(FoldedProblem::InvalidWeight(weight.to_string()))),
        };
        let frames: Vec<String> = stack.split(';').map(str::to_string).collect();
        if frames.iter().any(|f| f.is_empty()) {
            return Err(fail(FoldedProblem::EmptyFrame));
        }
        // The total bounds every stack's sum, so `add` cannot overflow.
        total = total
            .checked_add(weight)
            .ok_or_else(|| fail(FoldedProblem::WeightsOverflow))?;
        profile.add(frames, weight);
    }
    Ok(profile)
}

/// [`parse_folded`] for bytes: invalid UTF-8 is refused with its line.
pub(crate) fn parse_folded_bytes(bytes: &[u8]) -> Result<StackProfile, FlameError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_folded(text),
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            // An earlier line may be malformed too: report the first problem.
            let valid = &bytes[..e.valid_up_to()];
            let before = &valid[..valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1)];
            parse_folded(std::str::from_utf8(before).unwrap_or_default())?;
            Err(FlameError::Folded {
                line,
                problem: FoldedProblem::NotUtf8,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WeightUnit;

    fn stack(frames: &[&str]) -> Vec<String> {
        frames.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn writes_and_reads_back() {
        let mut p = StackProfile::new(WeightUnit::Samples);
        p.add(stack(&["main", "alpha"]), 3);
        p.add(stack(&["main", "beta", "gamma"]), 1);
        let text = to_folded(&p);
        assert_eq!(text, "main;alpha 3\nmain;beta;gamma 1\n");
        let back = parse_folded(&text).unwrap();
        assert_eq!(back.stacks, p.stacks);
        assert_eq!(back.unit, None);
    }

    #[test]
    fn a_root_frame_that_would_read_as_a_comment_is_written_so_it_does_not() {
        // Found by the fuzz target `folded`: `#` and a weight after a tab
        // read as a stack; written `# 1`, it read back as a comment.
        let p = parse_folded("#\t1\n#\r\x0b2\n").unwrap();
        assert!(p.stacks.is_empty(), "{:?}", p.stacks);
        let mut p = StackProfile::new(WeightUnit::Samples);
        p.add(stack(&["#"]), 1);
        p.add(stack(&["# x", "y"]), 2);
        p.add(stack(&["#", "y"]), 3);
        p.add(stack(&["#x"]), 4);
        let text = to_folded(&p);
        assert_eq!(text, "\u{FF03} 1\n#;y 3\n\u{FF03} x;y 2\n#x 4\n", "{text}");
        assert_eq!(parse_folded(&text).unwrap().stacks.len(), 4);
    }

    #[test]
    fn keeps_rust_symbols_whole() {
        let names = [
            "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop",
            "core::ptr::drop_in_place<&mut [u8]>",
            "foo::{{closure}}",
            "say \"hi\" 'there' & more",
            "<T as Into<U>>::into",
        ];
        let mut p = StackProfile::new(WeightUnit::Samples);
        p.add(stack(&names), 7);
        let back = parse_folded(&to_folded(&p)).unwrap();
        assert_eq!(back.stacks, p.stacks);
    }

    #[test]
    fn replaces_what_folded_cannot_hold() {
        let mut p = StackProfile::new(WeightUnit::Samples);
        p.add(stack(&["main", "<[u8; 4] as Debug>::fmt", "a\nb", ""]), 2);
        p.add(vec![], 1);
        let text = to_folded(&p);
        assert_eq!(
            text,
            "[unknown] 1\nmain;<[u8； 4] as Debug>::fmt;a b;[unknown] 2\n"
        );
        let back = parse_folded(&text).unwrap();
        assert_eq!(back.total(), 3);
        assert_eq!(back.stacks.keys().nth(1).unwrap().len(), 4);
    }

    #[test]
    fn sums_repeated_stacks_and_skips_blank_and_comment_lines() {
        let text = "# generated by hand\n\nmain;a 2\r\nmain;a 3\n  \nmain;b\t0\n";
        let p = parse_folded(text).unwrap();
        assert_eq!(p.stacks.len(), 1);
        assert_eq!(p.stacks[&stack(&["main", "a"])], 5);
    }

    #[test]
    fn splits_the_weight_at_the_last_whitespace() {
        let p = parse_folded("main;call with spaces  12\n").unwrap();
        assert_eq!(p.stacks[&stack(&["main", "call with spaces"])], 12);
    }

    fn problem(text: &str) -> (usize, FoldedProblem) {
        match parse_folded(text) {
            Err(FlameError::Folded { line, problem }) => (line, problem),
            other => panic!("expected a folded error, got {other:?}"),
        }
    }

    #[test]
    fn refuses_malformed_lines_with_their_number() {
        assert_eq!(
            problem("main;a 1\nmain;b\n"),
            (2, FoldedProblem::MissingWeight)
        );
        assert_eq!(
            problem("main;a 1\n\nmain;b many\n"),
            (3, FoldedProblem::MissingWeight)
        );
        assert_eq!(
            problem("main;a 1.5\n"),
            (1, FoldedProblem::InvalidWeight("1.5".into()))
        );
        assert_eq!(
            problem("main;a -3\n"),
            (1, FoldedProblem::InvalidWeight("-3".into()))
        );
        assert_eq!(
            problem("main;a 99999999999999999999999\n"),
            (
                1,
                FoldedProblem::InvalidWeight("99999999999999999999999".into())
            )
        );
        assert_eq!(problem("a 1\n42\n"), (2, FoldedProblem::EmptyStack));
        assert_eq!(problem("main;;a 1\n"), (1, FoldedProblem::EmptyFrame));
        assert_eq!(problem("main;a; 1\n"), (1, FoldedProblem::EmptyFrame));
    }

    #[test]
    fn refuses_weights_that_add_up_past_u64() {
        // Found by the fuzz target `folded`: the same stack twice panicked
        // in a debug build and wrapped around in a release build.
        assert_eq!(
            problem("main;a 18446744073709551615\nmain;a 1\n"),
            (2, FoldedProblem::WeightsOverflow)
        );
        assert_eq!(
            problem("main;a 18446744073709551615\nmain;b 1\n"),
            (2, FoldedProblem::WeightsOverflow)
        );
        let e = parse_folded("a 18446744073709551615\nb 1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: the weights add up past 18446744073709551615, the most a profile holds"
        );
        let p = parse_folded("main;a 18446744073709551614\nmain;a 1\n").unwrap();
        assert_eq!(p.total(), u64::MAX);
    }

    #[test]
    fn error_messages_name_the_line() {
        let e = parse_folded("main;a 1\nmain;b x1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: no weight after the stack (expected `frame;frame;frame weight`)"
        );
        let e = parse_folded("main;a 1e3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: weight `1e3` is not a non-negative whole number"
        );
    }

    #[test]
    fn refuses_bytes_that_are_not_utf8_at_their_line() {
        let e = parse_folded_bytes(b"main;a 1\nmain;\xff 2\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: not UTF-8 text");
        // An earlier malformed line is the first problem.
        let e = parse_folded_bytes(b"main;a\nmain;\xff 2\n").unwrap_err();
        assert!(e.to_string().starts_with("line 1: "), "{e}");
    }
}
