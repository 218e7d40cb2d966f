//! Reading JSON by hand, so that every error names the file, the line and
//! the field path (serde's derived errors name neither the file nor, for a
//! wrong type, the field).

use std::path::Path;

use perfhub_core::report::MAX_SECONDS;
use serde_json::Value;

use crate::error::{ImportError, Location};

/// The text of `path`.
pub(crate) fn read_text(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|e| ImportError::read(path, e))
}

/// Parses `text` as one JSON document at `location`.
pub(crate) fn parse(text: &str, location: &Location) -> Result<Value, ImportError> {
    serde_json::from_str(text).map_err(|e| ImportError::Json {
        location: location.clone(),
        message: e.to_string(),
    })
}

/// A JSON value with where it came from.
#[derive(Clone)]
pub(crate) struct Node<'a> {
    pub(crate) value: &'a Value,
    location: &'a Location,
    path: String,
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Node<'a> {
    pub(crate) fn root(value: &'a Value, location: &'a Location) -> Self {
        Node {
            value,
            location,
            path: String::new(),
        }
    }

    /// The field path, or `(the document)` at the root.
    pub(crate) fn path(&self) -> &str {
        if self.path.is_empty() {
            "(the document)"
        } else {
            &self.path
        }
    }

    /// The error about item `index` of this array.
    pub(crate) fn error_at(&self, index: usize, problem: impl Into<String>) -> ImportError {
        ImportError::Field {
            location: self.location.clone(),
            field: format!("{}[{index}]", self.path),
            problem: problem.into(),
        }
    }

    pub(crate) fn error(&self, problem: impl Into<String>) -> ImportError {
        ImportError::Field {
            location: self.location.clone(),
            field: self.path().to_string(),
            problem: problem.into(),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn object(&self) -> Result<&'a serde_json::Map<String, Value>, ImportError> {
        self.value
            .as_object()
            .ok_or_else(|| self.error(format!("expected an object, found {}", kind(self.value))))
    }

    /// The field `key`, which must be present (it may be null).
    pub(crate) fn get(&self, key: &str) -> Result<Node<'a>, ImportError> {
        let object = self.object()?;
        let path = self.child_path(key);
        match object.get(key) {
            Some(value) => Ok(Node {
                value,
                location: self.location,
                path,
            }),
            None => Err(ImportError::Field {
                location: self.location.clone(),
                field: path,
                problem: "missing".into(),
            }),
        }
    }

    /// The field `key`, or `None` when it is absent or null.
    pub(crate) fn get_opt(&self, key: &str) -> Result<Option<Node<'a>>, ImportError> {
        let object = self.object()?;
        Ok(object.get(key).filter(|v| !v.is_null()).map(|value| Node {
            value,
            location: self.location,
            path: self.child_path(key),
        }))
    }

    pub(crate) fn items(&self) -> Result<Vec<Node<'a>>, ImportError> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.error(format!("expected an array, found {}", kind(self.value))))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Node {
                value,
                location: self.location,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    pub(crate) fn str(&self) -> Result<&'a str, ImportError> {
        self.value
            .as_str()
            .ok_or_else(|| self.error(format!("expected a string, found {}", kind(self.value))))
    }

    /// A finite number.
    pub(crate) fn f64(&self) -> Result<f64, ImportError> {
        self.value
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| self.error(format!("expected a number, found {}", kind(self.value))))
    }

    /// A time: a finite number from 0 in the file's `unit`, of which one is
    /// `seconds_per_unit` seconds; returned in seconds.
    pub(crate) fn time(&self, unit: &str, seconds_per_unit: f64) -> Result<f64, ImportError> {
        let raw = self.f64()?;
        // `+ 0.0` turns -0 into 0.
        let seconds = raw * seconds_per_unit + 0.0;
        match time_problem(|| format!("{} {unit}", shown(raw)), seconds) {
            Some(p) => Err(self.error(p)),
            None => Ok(seconds),
        }
    }

    /// An array of times in seconds (see [`Node::time`]), each named by its
    /// index when it is wrong.
    pub(crate) fn seconds_array(&self) -> Result<Vec<f64>, ImportError> {
        let mut values = self.f64_array()?;
        for (i, x) in values.iter_mut().enumerate() {
            if let Some(p) = time_problem(|| format!("{} s", shown(*x)), *x) {
                return Err(self.error_at(i, p));
            }
            *x += 0.0;
        }
        Ok(values)
    }

    /// An array of whole numbers from 0 (bytes, counts).
    pub(crate) fn count_array(&self) -> Result<Vec<u64>, ImportError> {
        self.items()?.iter().map(Node::count).collect()
    }

    /// A whole number from 0 (criterion writes its counts as floats: `4751.0`).
    pub(crate) fn count(&self) -> Result<u64, ImportError> {
        if let Some(n) = self.value.as_u64() {
            return Ok(n);
        }
        match self.value.as_f64() {
            Some(x) if x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(53) => Ok(x as u64),
            _ => Err(self.error(format!(
                "expected a whole number from 0, found {}",
                describe(self.value)
            ))),
        }
    }

    /// An array of finite numbers.
    pub(crate) fn f64_array(&self) -> Result<Vec<f64>, ImportError> {
        let items = self.value.as_array().ok_or_else(|| {
            self.error(format!(
                "expected an array of numbers, found {}",
                kind(self.value)
            ))
        })?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                    self.error(format!(
                        "expected an array of numbers, found {} at index {i}",
                        describe(v)
                    ))
                })
            })
            .collect()
    }
}

/// A value's kind, and the value itself where it is short.
fn describe(v: &Value) -> String {
    match v {
        Value::Number(_) | Value::Bool(_) => format!("{} ({v})", kind(v)),
        Value::String(s) if s.len() <= 40 => format!("{} ({s:?})", kind(v)),
        _ => kind(v).to_string(),
    }
}

/// What every error about an impossible value ends with.
pub(crate) const DAMAGED: &str = "the file is damaged or was edited: run the benchmarks again";

/// Why `seconds` (written `shown` in the file, such as `-2 s` or `1e308 ns`)
/// cannot be a measured time, if it cannot: it is negative, or longer than
/// any measurement perfhub holds.
pub(crate) fn time_problem(shown: impl FnOnce() -> String, seconds: f64) -> Option<String> {
    // The value is written out only when wrong: files hold millions.
    if seconds.is_nan() || seconds < 0.0 {
        Some(format!(
            "{} is negative, and a time cannot be; {DAMAGED}",
            shown()
        ))
    } else if seconds > MAX_SECONDS {
        Some(format!(
            "{} is longer than any measurement (at most {MAX_SECONDS:.0} s, about 146 years); {DAMAGED}",
            shown()
        ))
    } else {
        None
    }
}

/// `x` as written in a message: plain, or in exponent form where plain
/// would run to many digits (`1e308`, not 309 of them).
pub(crate) fn shown(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-7..1e16).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// The outline of a JSON document, for telling formats apart without
/// building the whole tree: objects keep their first [`Shape::MAX_KEYS`]
/// keys, arrays their first element, down to [`Shape::MAX_DEPTH`] levels;
/// everything else is skipped as it is read, so a 50 MB file costs one
/// pass and no memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    /// An object's first keys with their shapes, in document order.
    Object(Vec<(String, Shape)>),
    /// An array's first element, if any.
    Array(Option<Box<Shape>>),
    /// A string.
    String,
    /// A number.
    Number,
    /// `true`, `false` or `null`.
    Other,
    /// A value below [`Shape::MAX_DEPTH`], not looked at.
    Deep,
}

impl Shape {
    /// Levels kept below the root.
    pub(crate) const MAX_DEPTH: usize = 5;
    /// Keys kept per object.
    pub(crate) const MAX_KEYS: usize = 64;

    /// The outline of `text`, or `None` when it is not one JSON document.
    pub(crate) fn of(text: &str) -> Option<Shape> {
        use serde::de::DeserializeSeed;
        let mut de = serde_json::Deserializer::from_str(text);
        let shape = ShapeSeed(Shape::MAX_DEPTH).deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(shape)
    }

    /// The shape of `key` in an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Shape> {
        match self {
            Shape::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, s)| s),
            _ => None,
        }
    }

    /// Whether this is an object with `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The shape of an array's first element.
    pub(crate) fn first(&self) -> Option<&Shape> {
        match self {
            Shape::Array(Some(first)) => Some(first),
            _ => None,
        }
    }

    /// The object's fields (empty for anything else).
    pub(crate) fn fields(&self) -> &[(String, Shape)] {
        match self {
            Shape::Object(fields) => fields,
            _ => &[],
        }
    }

    /// Whether this is an object.
    pub(crate) fn is_object(&self) -> bool {
        matches!(self, Shape::Object(_))
    }

    /// Whether this is an array.
    pub(crate) fn is_array(&self) -> bool {
        matches!(self, Shape::Array(_))
    }
}

/// Reads a [`Shape`] with `.0` levels left.
struct ShapeSeed(usize);

impl<'de> serde::de::DeserializeSeed<'de> for ShapeSeed {
    type Value = Shape;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ShapeSeed {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Number)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Number)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Number)
    }

    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::String)
    }

    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        use serde::de::IgnoredAny;
        if self.0 == 0 {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Shape::Deep);
        }
        let first = seq.next_element_seed(ShapeSeed(self.0 - 1))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shape::Array(first.map(Box::new)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        use serde::de::IgnoredAny;
        if self.0 == 0 {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Shape::Deep);
        }
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if fields.len() < Shape::MAX_KEYS {
                let shape = map.next_value_seed(ShapeSeed(self.0 - 1))?;
                fields.push((key.into_owned(), shape));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Shape::Object(fields))
    }
}

/// Deserializes `text` into `T`, naming the file, the field path
/// (`benchmarks[3].stats.mean`) and the line in errors. For large files:
/// no tree of [`Value`]s is built.
pub(crate) fn typed<'de, T: serde::Deserialize<'de>>(
    text: &'de str,
    location: &Location,
) -> Result<T, ImportError> {
    // Tracking the field path costs a third of the parse; a document that
    // fails is parsed again with it, for the error.
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || field == "." {
            ImportError::Json {
                location: location.clone(),
                message: inner.to_string(),
            }
        } else {
            ImportError::Field {
                location: location.clone(),
                field,
                problem: inner.to_string(),
            }
        }
    })?;
    de.end().map_err(|e| ImportError::Json {
        location: location.clone(),
        message: e.to_string(),
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_keeps_the_outline_and_skips_the_rest() {
        let text = r#"{"context": {"host": "a", "caches": [{"level": 1}]},
            "benchmarks": [{"name": "x", "real_time": 1.5}, {"name": "y"}],
            "deep": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}"#;
        let shape = Shape::of(text).unwrap();
        assert!(shape.is_object());
        assert_eq!(
            shape.get("context").unwrap().get("caches").unwrap().first(),
            Some(&Shape::Object(vec![("level".into(), Shape::Number)]))
        );
        let first = shape.get("benchmarks").unwrap().first().unwrap();
        assert_eq!(first.fields().len(), 2);
        assert_eq!(first.get("name"), Some(&Shape::String));
        assert!(!shape.has("results"));
        // Five levels below the root are kept, the sixth is skipped.
        let mut deep = shape.get("deep").unwrap();
        for key in ["a", "b", "c", "d"] {
            deep = deep.get(key).unwrap();
        }
        assert_eq!(deep, &Shape::Deep);
        // Not one JSON document: no shape.
        assert_eq!(Shape::of("{} {}"), None);
        assert_eq!(Shape::of("{\"a\": "), None);
        // Only the first keys of an object are kept.
        let many: Vec<String> = (0..100).map(|i| format!("\"k{i}\": {i}")).collect();
        let shape = Shape::of(&format!("{{{}}}", many.join(","))).unwrap();
        assert_eq!(shape.fields().len(), Shape::MAX_KEYS);
    }

    #[test]
    fn typed_errors_name_the_file_and_the_field() {
        #[derive(serde::Deserialize, Debug)]
        struct Doc {
            #[allow(dead_code)]
            benchmarks: Vec<Row>,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Row {
            #[allow(dead_code)]
            real_time: f64,
        }
        let location = Location::file(Path::new("gbench.json"));
        let ok: Doc = typed(r#"{"benchmarks": [{"real_time": 1.0}]}"#, &location).unwrap();
        assert_eq!(ok.benchmarks.len(), 1);
        let err = typed::<Doc>(
            r#"{"benchmarks": [{"real_time": 1.0}, {"real_time": "slow"}]}"#,
            &location,
        )
        .unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.starts_with("gbench.json: field `benchmarks[1].real_time`"),
            "{shown}"
        );
        let err = typed::<Doc>(r#"{"benchmarks": [}"#, &location).unwrap_err();
        assert!(matches!(err, ImportError::Json { .. }), "{err:?}");
        let err = typed::<Doc>(r#"{"benchmarks": []} trailing"#, &location).unwrap_err();
        assert!(matches!(err, ImportError::Json { .. }), "{err:?}");
    }
}
