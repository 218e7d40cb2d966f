//! Reading JSON by hand, so that every error names the file, the line and
//! the field path (serde's derived errors name neither the file nor, for a
//! wrong type, the field).

use std::path::Path;

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
