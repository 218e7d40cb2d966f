//! Empirical complexity: which of O(1) .. O(n^3) best explains cost against input size.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A complexity class that cost may grow by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplexityClass {
    /// O(1).
    Constant,
    /// O(log n).
    Logarithmic,
    /// O(n).
    Linear,
    /// O(n log n).
    Linearithmic,
    /// O(n^2).
    Quadratic,
    /// O(n^3).
    Cubic,
}

impl fmt::Display for ComplexityClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ComplexityClass::Constant => "O(1)",
            ComplexityClass::Logarithmic => "O(log n)",
            ComplexityClass::Linear => "O(n)",
            ComplexityClass::Linearithmic => "O(n log n)",
            ComplexityClass::Quadratic => "O(n^2)",
            ComplexityClass::Cubic => "O(n^3)",
        })
    }
}

/// The least-squares fit of one class: `cost ≈ intercept + coefficient * f(n)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplexityFit {
    /// The class fitted.
    pub class: ComplexityClass,
    /// The multiplier of `f(n)`.
    pub coefficient: f64,
    /// The constant term.
    pub intercept: f64,
    /// Coefficient of determination of the fit.
    pub r_squared: f64,
}

/// The fits of every class over one parameter scan, and the best of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplexityAnalysis {
    /// The parameter taken as the input size `n`.
    pub parameter: String,
    /// The metric whose cost was fitted.
    pub metric: String,
    /// The class that explains the data best.
    pub best: ComplexityClass,
    /// Every class's fit, best first.
    pub fits: Vec<ComplexityFit>,
}
