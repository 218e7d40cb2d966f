//! How perfhub lays out the JSON it writes: indented like
//! `serde_json::to_string_pretty`, except that an array of numbers, strings,
//! booleans or nulls stays on one line.
//!
//! A report keeps every raw sample, so most of its text is arrays of numbers.
//! Printed one number per line, indented, a 10,000-sample benchmark takes
//! three times the bytes, and writing a report becomes most of the work of
//! `perfhub import` on a large file. Objects, and arrays that hold objects or
//! arrays, are laid out exactly as the pretty printer does, so reports stay
//! readable and diff line by line.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

/// A newline and the indentation of up to 32 levels, written as one slice.
const NEWLINE_INDENT: &[u8; 65] = b"
                                                                ";

/// Serializes `value` into `writer` in perfhub's layout (see the module
/// docs), without a final newline.
pub fn to_writer<W: Write, T: Serialize + ?Sized>(writer: W, value: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, CompactArrays::default());
    value.serialize(&mut ser)
}

/// `value` as text in perfhub's layout (see the module docs).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(256);
    to_writer(&mut out, value)?;
    // The serializer writes only valid UTF-8.
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// How an open array has been laid out so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// An object, or an array with no value yet.
    Open,
    /// An array whose values so far were scalars, on the bracket's line.
    Inline,
    /// An array holding an object or an array: one value per line.
    Block,
}

/// The [`Formatter`] behind [`to_writer`].
#[derive(Debug, Default)]
struct CompactArrays {
    /// One entry per open object or array, innermost last.
    open: Vec<(Layout, bool)>,
    /// Set between `begin_array_value` and the value itself: whether that
    /// value is the array's first. Where the separator goes depends on
    /// whether the value is a scalar, which only the next call tells.
    pending: Option<bool>,
}

impl CompactArrays {
    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        let spaces = 2 * self.open.len();
        let now = spaces.min(NEWLINE_INDENT.len() - 1);
        w.write_all(&NEWLINE_INDENT[..1 + now])?;
        for _ in 0..(spaces - now) {
            w.write_all(b" ")?;
        }
        Ok(())
    }

    /// Writes what goes before an array's value, now that it is known
    /// whether the value is a container (an object or an array).
    fn before_value<W: ?Sized + Write>(&mut self, w: &mut W, container: bool) -> io::Result<()> {
        let Some(first) = self.pending.take() else {
            return Ok(());
        };
        let Some((layout, _)) = self.open.last_mut() else {
            return Ok(());
        };
        if container || *layout == Layout::Block {
            *layout = Layout::Block;
            if !first {
                w.write_all(b",")?;
            }
            self.newline(w)
        } else {
            *layout = Layout::Inline;
            if first { Ok(()) } else { w.write_all(b", ") }
        }
    }

    fn scalar<W: ?Sized + Write>(&mut self, w: &mut W, text: &[u8]) -> io::Result<()> {
        self.before_value(w, false)?;
        w.write_all(text)
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.before_value(w, true)?;
        self.open.push((Layout::Open, false));
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        let (layout, has_value) = self.open.pop().unwrap_or((Layout::Open, false));
        if layout == Layout::Block || (layout == Layout::Open && has_value) {
            self.newline(w)?;
        }
        w.write_all(bracket)
    }
}

macro_rules! scalars {
    ($($name:ident: $t:ty),* $(,)?) => {$(
        fn $name<W: ?Sized + Write>(&mut self, w: &mut W, value: $t) -> io::Result<()> {
            self.before_value(w, false)?;
            serde_json::ser::CompactFormatter.$name(w, value)
        }
    )*};
}

impl Formatter for CompactArrays {
    scalars! {
        write_bool: bool, write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64,
        write_i128: i128, write_u8: u8, write_u16: u16, write_u32: u32, write_u64: u64,
        write_u128: u128, write_f32: f32, write_f64: f64, write_number_str: &str,
        write_raw_fragment: &str,
    }

    fn write_null<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.scalar(w, b"null")
    }

    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.scalar(w, b"\"")
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        serde_json::ser::CompactFormatter.write_char_escape(w, escape)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, _w: &mut W, first: bool) -> io::Result<()> {
        self.pending = Some(first);
        Ok(())
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        if let Some((_, has_value)) = self.open.last_mut() {
            *has_value = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn arrays_of_scalars_stay_on_one_line_and_the_rest_is_pretty() {
        let v = json!({
            "name": "a",
            "samples": [1.5, 2.0, 3.25],
            "tags": ["x", "y\n"],
            "empty": [],
            "none": {},
            "rows": [{"k": [1, null, true]}, {"k": []}],
            "nested": [[1, 2], [3]],
        });
        let text = to_string(&v).unwrap();
        // serde_json's map is sorted by key.
        let expected = r#"{
  "empty": [],
  "name": "a",
  "nested": [
    [1, 2],
    [3]
  ],
  "none": {},
  "rows": [
    {
      "k": [1, null, true]
    },
    {
      "k": []
    }
  ],
  "samples": [1.5, 2.0, 3.25],
  "tags": ["x", "y\n"]
}"#;
        assert_eq!(text, expected);
    }

    #[test]
    fn mixed_arrays_and_top_level_scalars_are_valid_json() {
        for v in [
            json!([1, {"a": 2}, 3, [4], "five"]),
            json!([[], [[]], {}]),
            json!(7),
            json!("text with \"quotes\" and \u{1} control"),
            json!([f64::MAX, -0.0, 1e-300]),
            json!({"a": {"b": {"c": [1]}}}),
            (0..40).fold(json!([1]), |v, _| json!({ "deeper": v })),
        ] {
            let text = to_string(&v).unwrap();
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, v, "{text}");
        }
    }

    #[test]
    fn objects_are_laid_out_as_the_pretty_printer_does() {
        let v = json!({"a": {"b": 1, "c": {"d": "e"}}, "f": null});
        assert_eq!(
            to_string(&v).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
    }
}
