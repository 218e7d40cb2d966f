//! Budgets: expressions such as `p95 < 200ms`, parsed and evaluated against a report.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units::Unit;

/// A parsed budget expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// The text it was parsed from.
    pub source: String,
}

/// The outcome of one budget on one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetVerdict {
    /// The budget as written.
    pub budget: String,
    /// The benchmark it was evaluated on.
    pub benchmark: String,
    /// The metric it read.
    pub metric: String,
    /// The statistic of the metric it read (`p95`, `mean`, `value`, ...).
    pub statistic: String,
    /// The measured value, in `unit`.
    pub actual: f64,
    /// The limit, in `unit`.
    pub threshold: f64,
    /// The unit of `actual` and `threshold`.
    pub unit: Unit,
    /// Whether the budget held.
    pub passed: bool,
}
