//! Scenario files: a load test described in TOML when flags are not enough.
//!
//! A scenario names the requests to send, how to mix them, the load to put
//! on the target and the budgets the results must meet. Flags given on the
//! command line override the `[load]` defaults.
//!
//! # Format
//!
//! ```toml
//! # Top-level keys come before the first [table] (TOML puts a key written
//! # after a table header into that table).
//! mode = "weighted"          # or "sequence": each virtual user runs the
//!                            # requests in file order, again and again
//! budgets = ["p95 < 200ms", "error_rate < 0.1%"]   # the whole test
//!
//! [variables]                # ${name} in url, header values and body
//! host = "http://127.0.0.1:8080"
//! token = "abc"
//! user_id = 42               # numbers and booleans become their text
//!
//! [load]                     # defaults; command-line flags override them
//! rate = 500                 # requests/s (open model) ...
//! connections = 32           # ... over this many connections; without a
//!                            # rate, connections alone is the closed model
//! duration = "30s"           # ns, us, ms, s, m or h; a bare number is seconds;
//!                            # at most "720h" (30 days)
//! timeout = "2s"             # at most "1h"
//! # iterations = 1000        # stop after exactly this many (closed model)
//! # stages = ["30s:1000"]    # arrival rate stages, as --stage
//! # vus = 1                  # virtual users ramping, as --vus and
//! # vus_stages = ["30s:50"]  # --vus-stage (closed model)
//!
//! [[request]]
//! name = "home"              # default: the URL's path ("POST /login" for
//!                            # other methods than GET)
//! url = "${host}/"
//! weight = 3                 # share of a weighted mix, at least 1 (default 1)
//! budgets = ["p(99)<300ms"]  # this endpoint alone
//! checks = { status = [200, "3xx"], body_contains = "Welcome", header = "content-type" }
//! timeout = "500ms"          # this request's own (default: the test's)
//! think_time = "1s"          # a pause after it, closed model
//! group = "browse"           # added up in the report as group:browse
//!
//! [[request]]
//! name = "login"
//! method = "POST"            # default GET
//! url = "${host}/login"
//! headers = { "content-type" = "application/json", authorization = "Bearer ${token}" }
//! body = '{"user":"a","id":${user_id}}'
//! ```
//!
//! - Budgets use perfhub's or k6's syntax (see [`perfhub_core::budget`]) and
//!   are checked when the file is read.
//! - `checks.status` lists codes (`200`), classes (`"2xx"`) and inclusive
//!   ranges (`"200-299"`), all within 100..=599; an empty list checks no
//!   status. Without `status`, a response must be 2xx or 3xx. `header` is a
//!   name or a list of names the response must have.
//! - `Host`, `Content-Length`, `Connection` and `Transfer-Encoding` are set
//!   by perfhub and cannot be given in `headers`.
//! - `${name}` must name a `[variables]` entry; `$$` is a literal `$`.
//!   Variables are not expanded inside other variables. `mode` and `budgets`
//!   are not allowed as variable names, as they are almost always top-level
//!   keys written after `[variables]` by mistake.
//! - Every table refuses unknown keys.
//!
//! # Virtual users (sequence mode)
//!
//! In `mode = "sequence"` each connection is a virtual user with its own
//! values and cookies (see [`crate::flow`]):
//!
//! ```toml
//! mode = "sequence"
//! cookies = true             # the default; false turns the jar off
//!
//! [data]                     # each virtual user takes one row
//! file = "users.csv"         # a header row names the columns; or a JSON
//!                            # array of objects (*.json)
//! order = "round-robin"      # or "random"
//!
//! [load]
//! iterations = 100           # exactly 100 runs of the sequence, then stop
//!
//! [[request]]
//! method = "POST"
//! url = "http://127.0.0.1:8080/login"
//! body = '{"user":"${user}","password":"${password}"}'
//! extract = { token = "json:$.token", etag = "header:ETag", id = 'regex:id=(\d+)' }
//!
//! [[request]]
//! url = "http://127.0.0.1:8080/orders/${id}"
//! headers = { authorization = "Bearer ${token}" }
//! ```
//!
//! A `${name}` may name a data column or a value extracted by an earlier
//! request of the sequence, in the URL's path and query, header values, the
//! body and `checks.body_contains`; this is checked when the file is read.
//!
//! # Errors
//!
//! Every [`ScenarioError`] names the file, the line and column, and the key,
//! such as `scenario.toml:12:7: request[1].url: bad URL "htp:/x": ...`.
//! Array entries count from 0: `request[1]` is the second `[[request]]`.

use perfhub_core::units::{duration_too_long, parse_duration_at_most};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use perfhub_core::budget::Budget;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::engine::{MAX_DURATION, MAX_TIMEOUT};
use crate::flow::{Data, Extract, Flow, FlowRequest, Order, Source, Template};
use crate::request::{
    Check, Method, RequestSpec, header_name_problem, header_value_problem, is_token_byte, parse_url,
};

/// How virtual users pick the next request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Requests are mixed in proportion to their weights, interleaved
    /// evenly on each connection.
    #[default]
    Weighted,
    /// Each virtual user runs the requests in file order, then starts over.
    Sequence,
}

/// The `[load]` table: defaults that command-line flags override.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadDefaults {
    /// The target arrival rate in requests per second (the open model).
    pub rate: Option<f64>,
    /// The number of connections (the closed model when there is no rate).
    pub connections: Option<u32>,
    /// How long the test runs.
    pub duration: Option<Duration>,
    /// How long one request may take before it counts as failed.
    pub timeout: Option<Duration>,
    /// Stop after this many iterations (see `--iterations`).
    pub iterations: Option<u64>,
    /// Arrival rate stages, `DURATION:RATE` (see `--stage`).
    pub stages: Vec<crate::engine::Stage>,
    /// Virtual users at the start of a ramp (see `--vus`).
    pub vus: Option<u32>,
    /// Virtual user stages, `DURATION:USERS` (see `--vus-stage`).
    pub vu_stages: Vec<crate::engine::Stage>,
}

/// A parsed, validated scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The requests, in file order, with variables substituted.
    pub requests: Vec<RequestSpec>,
    /// How virtual users pick requests.
    pub mode: Mode,
    /// Load defaults from `[load]`.
    pub load: LoadDefaults,
    /// Budgets for the whole test, as written (each one parses).
    pub budgets: Vec<String>,
    /// In sequence mode, what the virtual users carry between requests:
    /// extracted values, data file rows, cookies.
    pub flow: Option<Flow>,
    /// The named scenarios of a file that has several (`[scenario.NAME]`
    /// tables), in name order, to run at once; the file's own requests
    /// are then empty, and its `budgets` are on all of them together.
    pub named: Vec<(String, Scenario)>,
}

/// Why a scenario file is unusable, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file name, as given.
    pub file: String,
    /// The line, from 1; `None` when the file could not be read at all.
    pub line: Option<usize>,
    /// The column in characters, from 1; `None` when unknown.
    pub column: Option<usize>,
    /// The key, such as `request[1].url` or `load.duration`; empty when the
    /// problem is not under one key (a TOML syntax error, say).
    pub key: String,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        perfhub_core::text::write_located(
            f,
            &self.file,
            self.line,
            self.column,
            &self.key,
            &self.message,
        )
    }
}

impl std::error::Error for ScenarioError {}

/// Reads and validates the scenario file at `path`.
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: None,
        column: None,
        key: String::new(),
        message: format!("cannot read the scenario file: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
        let (line, column) = position(&valid, offset);
        ScenarioError {
            file: file.clone(),
            line: Some(line),
            column: Some(column),
            key: String::new(),
            message: "the file is not UTF-8 text".into(),
        }
    })?;
    parse_scenario(&text, &file)
}

/// Parses and validates a scenario from `text`; `file_name` is used in
/// errors only.
///
/// ```
/// use perfhub_load::scenario::{Mode, parse_scenario};
///
/// let text = r#"
/// mode = "sequence"
/// [variables]
/// host = "http://127.0.0.1:8080"
/// [[request]]
/// url = "${host}/health"
/// "#;
/// let scenario = parse_scenario(text, "smoke.toml").unwrap();
/// assert_eq!(scenario.mode, Mode::Sequence);
/// assert_eq!(scenario.requests[0].url.to_string(), "http://127.0.0.1:8080/health");
///
/// let err = parse_scenario("[[request]]\nurl = \"${hots}/\"\n", "smoke.toml").unwrap_err();
/// assert_eq!(err.to_string(), "smoke.toml:2:8: request[0].url: undefined variable `hots`; \
///     define it under [variables] (no variables are defined)");
/// ```
pub fn parse_scenario(text: &str, file_name: &str) -> Result<Scenario, ScenarioError> {
    let ctx = Ctx {
        text,
        file: file_name,
        prefix: "",
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| ctx.toml_error(&e))?;
    ctx.validate(raw)
}

// ---------------------------------------------------------------------------
// The file as deserialized, with spans for everything validated afterwards.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default)]
    mode: Option<Spanned<Mode>>,
    #[serde(default)]
    budgets: Vec<Spanned<String>>,
    #[serde(default)]
    variables: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    load: Option<RawLoad>,
    #[serde(default)]
    request: Vec<Spanned<RawRequest>>,
    cookies: Option<Spanned<bool>>,
    data: Option<Spanned<RawData>>,
    #[serde(default)]
    scenario: BTreeMap<String, Spanned<RawScenario>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    file: Spanned<String>,
    order: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    rate: Option<Spanned<f64>>,
    connections: Option<Spanned<i64>>,
    duration: Option<Spanned<toml::Value>>,
    timeout: Option<Spanned<toml::Value>>,
    iterations: Option<Spanned<i64>>,
    #[serde(default)]
    stages: Vec<Spanned<String>>,
    vus: Option<Spanned<i64>>,
    #[serde(default)]
    vus_stages: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    name: Option<Spanned<String>>,
    method: Option<Spanned<String>>,
    url: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    body: Option<Spanned<String>>,
    weight: Option<Spanned<i64>>,
    #[serde(default)]
    budgets: Vec<Spanned<String>>,
    checks: Option<RawChecks>,
    #[serde(default)]
    extract: BTreeMap<String, Spanned<String>>,
    think_time: Option<Spanned<toml::Value>>,
    timeout: Option<Spanned<toml::Value>>,
    group: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    status: Option<Vec<Spanned<toml::Value>>>,
    body_contains: Option<Spanned<String>>,
    header: Option<Spanned<toml::Value>>,
}

/// Names that are top-level keys, refused as variables (see the module docs).
const RESERVED_VARIABLES: [&str; 2] = ["mode", "budgets"];

// ---------------------------------------------------------------------------
// Validation.

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
    /// Put before every key: `scenario.NAME.` inside a named scenario.
    prefix: &'a str,
}

/// The names a request may use, and the flow's run-time variables.
#[derive(Default)]
struct Names {
    /// `[variables]`.
    statics: BTreeMap<String, String>,
    /// Run-time variables by name: data columns, then extractions.
    ids: BTreeMap<String, usize>,
    /// Run-time variables a request may use now (data columns, and what
    /// the requests before it extract).
    known: std::collections::BTreeSet<usize>,
    /// For each extracted name, the first request that extracts it.
    extracted_by: BTreeMap<String, usize>,
}

impl Names {
    fn resolve(&self, name: &str) -> Option<Resolved<'_>> {
        if let Some(v) = self.statics.get(name) {
            return Some(Resolved::Text(v));
        }
        self.ids
            .get(name)
            .filter(|id| self.known.contains(id))
            .map(|id| Resolved::Var(*id))
    }
}

impl Ctx<'_> {
    /// An error at byte `offset` of the file (or nowhere in particular).
    fn error_at(
        &self,
        offset: Option<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let (line, column) = match offset {
            Some(o) => {
                let (l, c) = position(self.text, o);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        let key = key.into();
        ScenarioError {
            file: self.file.to_string(),
            line,
            column,
            key: if key.is_empty() {
                key
            } else {
                format!("{}{key}", self.prefix)
            },
            message: message.into(),
        }
    }

    /// An error at the start of `span`.
    fn error(
        &self,
        span: &Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        self.error_at(Some(span.start), key, message)
    }

    /// The error toml gives, with the key its span falls under.
    fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let message = e.message().trim().to_string();
        let Some(span) = e.span() else {
            return self.error_at(Some(0), "", message);
        };
        let key = key_path_at(self.text, span.start);
        let message = with_hint(&key, message);
        self.error(&span, key, message)
    }

    /// The byte offset of `needle` inside the source of the value at `span`,
    /// so an error can point into a string rather than at its quote. Falls
    /// back to the value's start when the text is escaped differently.
    fn offset_in(&self, span: &Range<usize>, needle: &str) -> usize {
        self.text
            .get(span.clone())
            .and_then(|source| source.find(needle))
            .map_or(span.start, |i| span.start + i)
    }

    fn validate(&self, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        if raw.scenario.is_empty() {
            return self.validate_one(raw, &BTreeMap::new());
        }
        // Several named scenarios: the top level holds what they share.
        let shared = self.variables(&raw.variables)?;
        let budgets = self.budgets(&raw.budgets, "budgets")?;
        let misplaced = |key: &str, span: Range<usize>| {
            Err(self.error(
                &span,
                key,
                format!(
                    "with [scenario.NAME] tables, `{key}` goes inside each of them (the top level holds only budgets and [variables], which every scenario shares)"
                ),
            ))
        };
        if let Some(r) = raw.request.first() {
            return misplaced("request", r.span());
        }
        if let Some(m) = &raw.mode {
            return misplaced("mode", m.span());
        }
        if let Some(c) = &raw.cookies {
            return misplaced("cookies", c.span());
        }
        if let Some(d) = &raw.data {
            return misplaced("data", d.span());
        }
        if raw.load.is_some() {
            let offset = self.text.find("[load]").unwrap_or(0);
            return misplaced("load", offset..offset + 1);
        }
        let mut named = Vec::with_capacity(raw.scenario.len());
        for (name, sub) in raw.scenario {
            let prefix = format!("scenario.{}.", toml_key(&name));
            if !is_variable_name(&name) {
                return Err(self.error(
                    &sub.span(),
                    format!("scenario.{}", toml_key(&name)),
                    format!(
                        "bad scenario name {name:?}: use letters, digits, `_` and `-`, not starting with a digit"
                    ),
                ));
            }
            let span = sub.span();
            let sub = sub.into_inner();
            if !sub.scenario.is_empty() {
                return Err(self.error(
                    &span,
                    format!("scenario.{}.scenario", toml_key(&name)),
                    "a scenario cannot hold scenarios of its own",
                ));
            }
            let ctx = Ctx {
                text: self.text,
                file: self.file,
                prefix: &prefix,
            };
            named.push((name, ctx.validate_one(sub, &shared)?));
        }
        Ok(Scenario {
            requests: Vec::new(),
            mode: Mode::Weighted,
            load: LoadDefaults::default(),
            budgets,
            flow: None,
            named,
        })
    }

    /// One scenario, with `shared` variables beside its own (its own win).
    fn validate_one(
        &self,
        raw: RawScenario,
        shared: &BTreeMap<String, String>,
    ) -> Result<Scenario, ScenarioError> {
        let mut variables = shared.clone();
        variables.extend(self.variables(&raw.variables)?);
        let budgets = self.budgets(&raw.budgets, "budgets")?;
        let load = match &raw.load {
            Some(load) => self.load(load)?,
            None => LoadDefaults::default(),
        };
        if raw.request.is_empty() {
            return Err(self.error_at(
                Some(self.text.len()),
                "request",
                "a scenario needs at least one request: add a [[request]] table with a url",
            ));
        }
        let mode = raw.mode.as_ref().map(|m| *m.get_ref()).unwrap_or_default();
        let sequence = mode == Mode::Sequence;
        if !sequence {
            self.refuse_flow_keys(&raw)?;
        }
        let mut names = Names {
            statics: variables,
            ..Names::default()
        };
        let mut flow_names: Vec<String> = Vec::new();
        let data = match &raw.data {
            Some(d) if sequence => Some(self.data(d, &mut names, &mut flow_names)?),
            _ => None,
        };
        let mut extracts = Vec::with_capacity(raw.request.len());
        for (i, r) in raw.request.iter().enumerate() {
            extracts.push(self.extracts(r.get_ref(), i, &mut names, &mut flow_names)?);
        }
        let mut requests: Vec<RequestSpec> = Vec::with_capacity(raw.request.len());
        let mut flow_requests = Vec::with_capacity(raw.request.len());
        let mut seen: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for ((i, spanned), extract) in raw.request.iter().enumerate().zip(extracts) {
            let prefix = format!("request[{i}]");
            let (spec, mut flow_request) = self.request(spanned.get_ref(), &prefix, &names)?;
            let name_span = spanned
                .get_ref()
                .name
                .as_ref()
                .map_or_else(|| spanned.get_ref().url.span(), Spanned::span);
            if let Some((first, first_offset)) = seen.get(&spec.name) {
                let (first_line, _) = position(self.text, *first_offset);
                return Err(self.error(
                    &name_span,
                    format!("{prefix}.name"),
                    format!(
                        "duplicate request name {:?}: request[{first}] (line {first_line}) has it too; give each request its own name",
                        spec.name
                    ),
                ));
            }
            seen.insert(spec.name.clone(), (i, name_span.start));
            // What this request extracts, the requests after it may use.
            for e in &extract {
                names.known.insert(e.var);
            }
            flow_request.extract = extract;
            requests.push(spec);
            flow_requests.push(flow_request);
        }
        let flow = sequence.then(|| Flow {
            names: flow_names,
            requests: flow_requests,
            data,
            cookies: raw.cookies.as_ref().is_none_or(|c| *c.get_ref()),
        });
        Ok(Scenario {
            requests,
            mode,
            load,
            budgets,
            flow,
            named: Vec::new(),
        })
    }

    /// Outside sequence mode there are no virtual users to carry values.
    fn refuse_flow_keys(&self, raw: &RawScenario) -> Result<(), ScenarioError> {
        let why = "is for the virtual users of mode = \"sequence\", which run the requests in order: put mode = \"sequence\" above the first [table]";
        if let Some(c) = &raw.cookies {
            return Err(self.error(&c.span(), "cookies", format!("`cookies` {why}")));
        }
        if let Some(d) = &raw.data {
            return Err(self.error(&d.span(), "data", format!("[data] {why}")));
        }
        for (i, r) in raw.request.iter().enumerate() {
            if let Some((name, v)) = r.get_ref().extract.iter().next() {
                return Err(self.error(
                    &v.span(),
                    format!("request[{i}].extract.{}", toml_key(name)),
                    format!("`extract` {why}"),
                ));
            }
        }
        Ok(())
    }

    /// Request `i`'s extractions, each given its variable's number.
    fn extracts(
        &self,
        raw: &RawRequest,
        i: usize,
        names: &mut Names,
        flow_names: &mut Vec<String>,
    ) -> Result<Vec<Extract>, ScenarioError> {
        let mut out = Vec::with_capacity(raw.extract.len());
        for (name, source) in &raw.extract {
            let key = format!("request[{i}].extract.{}", toml_key(name));
            if !is_variable_name(name) {
                return Err(self.error(
                    &source.span(),
                    key,
                    format!(
                        "bad variable name {name:?}: use letters, digits, `_` and `-`, not starting with a digit"
                    ),
                ));
            }
            if names.statics.contains_key(name) {
                return Err(self.error(
                    &source.span(),
                    key,
                    format!(
                        "`{name}` is a [variables] entry: give the extracted value a name of its own"
                    ),
                ));
            }
            if names.ids.contains_key(name) && !names.extracted_by.contains_key(name) {
                return Err(self.error(
                    &source.span(),
                    key,
                    format!(
                        "`{name}` is a column of the data file: give the extracted value a name of its own"
                    ),
                ));
            }
            let parsed = Source::parse(source.get_ref()).map_err(|m| {
                let offset = self.offset_in(
                    &source.span(),
                    source.get_ref().split(':').next().unwrap_or(""),
                );
                self.error_at(Some(offset), &key, m)
            })?;
            let id = *names.ids.entry(name.clone()).or_insert_with(|| {
                flow_names.push(name.clone());
                flow_names.len() - 1
            });
            names.extracted_by.entry(name.clone()).or_insert(i);
            out.push(Extract {
                var: id,
                source: parsed,
            });
        }
        Ok(out)
    }

    /// The `[data]` table: reads the file, whose columns become run-time
    /// variables.
    fn data(
        &self,
        raw: &Spanned<RawData>,
        names: &mut Names,
        flow_names: &mut Vec<String>,
    ) -> Result<Data, ScenarioError> {
        let raw_ref = raw.get_ref();
        let order = match &raw_ref.order {
            None => Order::RoundRobin,
            Some(o) => match o.get_ref().as_str() {
                "round-robin" => Order::RoundRobin,
                "random" => Order::Random,
                other => {
                    return Err(self.error(
                        &o.span(),
                        "data.order",
                        format!("unknown order {other:?}: use \"round-robin\" (the default) or \"random\""),
                    ));
                }
            },
        };
        let file_span = raw_ref.file.span();
        let given = raw_ref.file.get_ref();
        let path = Path::new(self.file)
            .parent()
            .unwrap_or(Path::new(""))
            .join(given);
        let fail = |m: String| self.error(&file_span, "data.file", m);
        let shown = path.display();
        let meta = std::fs::metadata(&path)
            .map_err(|e| fail(format!("cannot read the data file {shown}: {e} (a relative path is from the scenario file's folder)")))?;
        if !meta.is_file() {
            return Err(fail(format!(
                "the data file {shown} is not a regular file: give a CSV or JSON file"
            )));
        }
        let too_large = || {
            fail(format!(
                "the data file {shown} is more than the 64 MiB a data file may hold"
            ))
        };
        // Bounded however the file grows while it is read.
        let bytes = perfhub_core::fs::read_bounded(&path, MAX_DATA_FILE).map_err(|e| match e {
            perfhub_core::fs::BoundedReadError::Io(e) => {
                fail(format!("cannot read the data file {shown}: {e}"))
            }
            perfhub_core::fs::BoundedReadError::TooLarge(_) => too_large(),
        })?;
        let json = given.to_ascii_lowercase().ends_with(".json")
            || bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
        let (columns, rows) = if json {
            data_json(&bytes)
        } else {
            data_csv(&bytes)
        }
        .map_err(|m| fail(format!("the data file {shown}: {m}")))?;
        let mut ids = Vec::with_capacity(columns.len());
        for column in &columns {
            if !is_variable_name(column) {
                return Err(fail(format!(
                    "the data file {shown}: the column name {column:?} cannot be a variable: use letters, digits, `_` and `-`, not starting with a digit"
                )));
            }
            if names.statics.contains_key(column) {
                return Err(fail(format!(
                    "the data file {shown}: the column `{column}` is also a [variables] entry: rename one of them"
                )));
            }
            if names.ids.contains_key(column) {
                return Err(fail(format!(
                    "the data file {shown}: the column `{column}` is named twice"
                )));
            }
            flow_names.push(column.clone());
            let id = flow_names.len() - 1;
            names.ids.insert(column.clone(), id);
            names.known.insert(id);
            ids.push(id);
        }
        Ok(Data {
            columns: ids,
            rows,
            order,
        })
    }

    fn variables(
        &self,
        raw: &BTreeMap<String, Spanned<toml::Value>>,
    ) -> Result<BTreeMap<String, String>, ScenarioError> {
        let mut out = BTreeMap::new();
        for (name, value) in raw {
            let key = format!("variables.{}", toml_key(name));
            if RESERVED_VARIABLES.contains(&name.as_str()) {
                return Err(self.error(
                    &value.span(),
                    key,
                    format!(
                        "`{name}` is a top-level key, not a variable: move it above the first [table] (TOML puts a key written after [variables] into that table)"
                    ),
                ));
            }
            if !is_variable_name(name) {
                return Err(self.error(
                    &value.span(),
                    key,
                    format!(
                        "bad variable name {name:?}: use letters, digits, `_` and `-`, not starting with a digit"
                    ),
                ));
            }
            let text = match value.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(self.error(
                        &value.span(),
                        key,
                        format!(
                            "a variable must be a string, number or boolean, not {}",
                            describe(other)
                        ),
                    ));
                }
            };
            out.insert(name.clone(), text);
        }
        Ok(out)
    }

    fn budgets(&self, raw: &[Spanned<String>], prefix: &str) -> Result<Vec<String>, ScenarioError> {
        let mut out = Vec::with_capacity(raw.len());
        for (i, budget) in raw.iter().enumerate() {
            let text = budget.get_ref();
            if let Err(e) = Budget::parse(text) {
                let start = self.offset_in(&budget.span(), text);
                let offset = if start == budget.span().start {
                    start
                } else {
                    start + e.span().start
                };
                return Err(self.error_at(Some(offset), format!("{prefix}[{i}]"), e.to_string()));
            }
            out.push(text.clone());
        }
        Ok(out)
    }

    fn load(&self, raw: &RawLoad) -> Result<LoadDefaults, ScenarioError> {
        let mut out = LoadDefaults::default();
        if let Some(rate) = &raw.rate {
            let r = *rate.get_ref();
            if !(r.is_finite() && r > 0.0) {
                return Err(self.error(
                    &rate.span(),
                    "load.rate",
                    format!("the rate must be a positive number of requests per second, not {r}"),
                ));
            }
            out.rate = Some(r);
        }
        if let Some(connections) = &raw.connections {
            let c = *connections.get_ref();
            out.connections = Some(u32::try_from(c).ok().filter(|&c| c >= 1).ok_or_else(|| {
                self.error(
                    &connections.span(),
                    "load.connections",
                    format!("connections must be at least 1 (and fit in 32 bits), not {c}"),
                )
            })?);
        }
        if let Some(duration) = &raw.duration {
            out.duration = Some(self.duration(duration, "load.duration", MAX_DURATION)?);
        }
        if let Some(timeout) = &raw.timeout {
            out.timeout = Some(self.duration(timeout, "load.timeout", MAX_TIMEOUT)?);
        }
        for (key, raw_stages, what, out_stages) in [
            ("load.stages", &raw.stages, "RATE", &mut out.stages),
            (
                "load.vus_stages",
                &raw.vus_stages,
                "USERS",
                &mut out.vu_stages,
            ),
        ] {
            for (i, stage) in raw_stages.iter().enumerate() {
                let parsed = crate::engine::Stage::parse(stage.get_ref(), what)
                    .map_err(|m| self.error(&stage.span(), format!("{key}[{i}]"), m))?;
                if parsed.duration.is_zero() || !parsed.target.is_finite() || parsed.target < 0.0 {
                    return Err(self.error(
                        &stage.span(),
                        format!("{key}[{i}]"),
                        format!(
                            "a stage needs a duration above 0 and a {} of 0 or more, such as \"30s:100\"",
                            what.to_ascii_lowercase()
                        ),
                    ));
                }
                out_stages.push(parsed);
            }
        }
        if !out.stages.is_empty() && !out.vu_stages.is_empty() {
            return Err(self.error(
                &raw.vus_stages[0].span(),
                "load.vus_stages",
                "stages of arrival rate (the open model) and of virtual users (the closed model) cannot be mixed: keep one",
            ));
        }
        if let Some(n) = &raw.vus {
            let v = *n.get_ref();
            out.vus = Some(u32::try_from(v).ok().filter(|&v| v >= 1).ok_or_else(|| {
                self.error(
                    &n.span(),
                    "load.vus",
                    format!("vus must be a whole number from 1 up, not {v}"),
                )
            })?);
        }
        if let Some(n) = &raw.iterations {
            let v = *n.get_ref();
            out.iterations = Some(u64::try_from(v).ok().filter(|&v| v >= 1).ok_or_else(|| {
                self.error(
                    &n.span(),
                    "load.iterations",
                    format!("iterations must be a whole number from 1 up, not {v}"),
                )
            })?);
        }
        Ok(out)
    }

    /// A duration of at most `max` that may be 0 (a pause).
    fn duration_or_zero(
        &self,
        raw: &Spanned<toml::Value>,
        key: &str,
        max: Duration,
    ) -> Result<Duration, ScenarioError> {
        match raw.get_ref() {
            toml::Value::Integer(0) => Ok(Duration::ZERO),
            toml::Value::String(s) if parse_duration_at_most(s, max) == Ok(Duration::ZERO) => {
                Ok(Duration::ZERO)
            }
            _ => self.duration(raw, key, max),
        }
    }

    /// A duration of at most `max`: a string such as `"30s"`, or a number
    /// of seconds.
    fn duration(
        &self,
        raw: &Spanned<toml::Value>,
        key: &str,
        max: Duration,
    ) -> Result<Duration, ScenarioError> {
        let too_long = |text: &str| self.error(&raw.span(), key, duration_too_long(text, max));
        let parsed = match raw.get_ref() {
            toml::Value::String(s) => match parse_duration_at_most(s, max) {
                Err(e) if e == duration_too_long(s, max) => return Err(too_long(s)),
                parsed => parsed,
            },
            toml::Value::Integer(i) => u64::try_from(*i)
                .map(Duration::from_secs)
                .map_err(|_| format!("{i} is negative")),
            toml::Value::Float(f) if f.is_finite() && *f > max.as_secs_f64() => {
                return Err(too_long(&format!("{f:?}s")));
            }
            toml::Value::Float(f) => {
                Duration::try_from_secs_f64(*f).map_err(|_| format!("{f} is out of range"))
            }
            other => Err(format!("expected a duration, found {}", describe(other))),
        };
        let d = parsed.map_err(|reason| {
            self.error(
                &raw.span(),
                key,
                format!("{reason}; give a duration such as \"30s\", \"500ms\" or \"2m\""),
            )
        })?;
        if d.is_zero() {
            return Err(self.error(&raw.span(), key, "the duration must be more than 0"));
        }
        if d > max {
            return Err(too_long(&format!("{}s", d.as_secs())));
        }
        Ok(d)
    }

    /// Substitutes variables in the string value `raw`, pointing errors at
    /// the `${...}` in the file; what only a virtual user knows at run time
    /// stays a reference.
    fn template(
        &self,
        raw: &Spanned<String>,
        key: &str,
        names: &Names,
    ) -> Result<Template, ScenarioError> {
        substitute_with(raw.get_ref(), |name| names.resolve(name)).map_err(|e| {
            let span = raw.span();
            let (needle, message) = match &e {
                SubstError::Undefined(name) => (
                    format!("${{{name}}}"),
                    match names.extracted_by.get(name) {
                        Some(by) => format!(
                            "`{name}` is extracted by request[{by}], which does not come before this request: a value can be used only by the requests after the one that extracts it"
                        ),
                        None => undefined(name, names),
                    },
                ),
                SubstError::BadName(name) => (
                    format!("${{{name}}}"),
                    format!(
                        "bad variable reference `${{{name}}}`: a name has letters, digits, `_` and `-`; write `$$` for a literal `$`"
                    ),
                ),
                SubstError::Unterminated => (
                    "${".to_string(),
                    "unterminated `${`: close it with `}`, or write `$${` for a literal `${`"
                        .to_string(),
                ),
            };
            self.error_at(Some(self.offset_in(&span, &needle)), key, message)
        })
    }

    fn request(
        &self,
        raw: &RawRequest,
        prefix: &str,
        names: &Names,
    ) -> Result<(RequestSpec, FlowRequest), ScenarioError> {
        let url_key = format!("{prefix}.url");
        let url_template = self.template(&raw.url, &url_key, names)?;
        let url_error = |e: &dyn fmt::Display| self.error(&raw.url.span(), &url_key, e.to_string());
        // A run-time value may go in the path and query, not the host: the
        // connections are made before any value is known. Each is tried
        // with two stand-ins.
        let url = parse_url(&url_template.render_with(|_| "x")).map_err(|e| url_error(&e))?;
        if !url_template.is_static() {
            let other = parse_url(&url_template.render_with(|_| "y")).map_err(|e| url_error(&e))?;
            if (url.scheme(), url.host_str(), url.port())
                != (other.scheme(), other.host_str(), other.port())
            {
                return Err(url_error(
                    &"a value known only at run time (a data column or an extraction) can go in the URL's path and query, not its scheme, host or port",
                ));
            }
        }

        let method = match &raw.method {
            Some(m) => Method::parse(m.get_ref())
                .map_err(|e| self.error(&m.span(), format!("{prefix}.method"), e.to_string()))?,
            None => Method::get(),
        };

        let path_shown = if url_template.is_static() {
            url.path().to_string()
        } else {
            // The path as written, with its `${name}`s.
            let written = url_template.render_with(|_| "\u{0}");
            let after_scheme = written.find("://").map_or(0, |i| i + 3);
            let path = written[after_scheme..]
                .find('/')
                .map_or("/", |i| &written[after_scheme + i..]);
            let path = path.split('?').next().unwrap_or(path);
            let mut ids = url_template.vars();
            path.split('\u{0}')
                .enumerate()
                .map(|(k, piece)| {
                    if k == 0 {
                        piece.to_string()
                    } else {
                        let name = ids.next().map_or(String::new(), |id| {
                            names
                                .ids
                                .iter()
                                .find(|(_, v)| **v == id)
                                .map_or(String::new(), |(n, _)| n.clone())
                        });
                        format!("${{{name}}}{piece}")
                    }
                })
                .collect()
        };
        let name = match &raw.name {
            Some(n) => {
                let name = n.get_ref().trim();
                if name.is_empty() {
                    return Err(self.error(
                        &n.span(),
                        format!("{prefix}.name"),
                        "the name is empty; leave it out to name the request after its path",
                    ));
                }
                name.to_string()
            }
            None if method == Method::get() => path_shown,
            None => format!("{} {path_shown}", method.as_str()),
        };

        let mut headers = Vec::with_capacity(raw.headers.len());
        let mut header_templates = Vec::with_capacity(raw.headers.len());
        for (header, value) in &raw.headers {
            let key = format!("{prefix}.headers.{}", toml_key(header));
            if let Some(problem) = header_name_problem(header) {
                return Err(self.error(&value.span(), key, problem));
            }
            let template = self.template(value, &key, names)?;
            let text = template.render_with(|_| "x");
            if let Some(problem) = header_value_problem(&text) {
                return Err(self.error(&value.span(), key, problem));
            }
            headers.push((header.clone(), text));
            header_templates.push((header.clone(), template));
        }

        let body_template = match &raw.body {
            Some(b) => self.template(b, &format!("{prefix}.body"), names)?,
            None => Template::text(""),
        };
        let body = body_template.render_with(|_| "x").into_bytes();

        let weight = match &raw.weight {
            Some(w) => {
                let v = *w.get_ref();
                u32::try_from(v).ok().filter(|&v| v >= 1).ok_or_else(|| {
                    self.error(
                        &w.span(),
                        format!("{prefix}.weight"),
                        format!("the weight must be a whole number from 1 up, not {v}"),
                    )
                })?
            }
            None => 1,
        };

        let budgets = self.budgets(&raw.budgets, &format!("{prefix}.budgets"))?;
        let (checks, body_contains) = self.checks(raw.checks.as_ref(), prefix, names)?;
        let think_time = match &raw.think_time {
            Some(t) => Some(self.duration_or_zero(
                t,
                &format!("{prefix}.think_time"),
                crate::engine::MAX_THINK_TIME,
            )?),
            None => None,
        };
        let timeout = match &raw.timeout {
            Some(t) => Some(self.duration(t, &format!("{prefix}.timeout"), MAX_TIMEOUT)?),
            None => None,
        };
        let group = match &raw.group {
            Some(g) if g.get_ref().trim().is_empty() => {
                return Err(self.error(
                    &g.span(),
                    format!("{prefix}.group"),
                    "the group name is empty; leave it out for no group",
                ));
            }
            Some(g) => Some(g.get_ref().trim().to_string()),
            None => None,
        };

        Ok((
            RequestSpec {
                name,
                method,
                url,
                headers,
                body,
                checks,
                weight,
                budgets,
                think_time,
                timeout,
                group,
            },
            FlowRequest {
                url: url_template,
                headers: header_templates,
                body: body_template,
                body_contains,
                extract: Vec::new(),
            },
        ))
    }

    /// The checks, and the body check's text as a template when it has one.
    fn checks(
        &self,
        raw: Option<&RawChecks>,
        prefix: &str,
        names: &Names,
    ) -> Result<(Vec<Check>, Option<Template>), ScenarioError> {
        let default_status = Check::Status(vec![(200, 399)]);
        let Some(raw) = raw else {
            return Ok((vec![default_status], None));
        };
        let mut body_contains = None;
        let mut checks = Vec::new();
        match &raw.status {
            None => checks.push(default_status),
            Some(list) if list.is_empty() => {}
            Some(list) => {
                let mut ranges = Vec::with_capacity(list.len());
                for (i, entry) in list.iter().enumerate() {
                    let range = status_range(entry.get_ref()).map_err(|reason| {
                        self.error(
                            &entry.span(),
                            format!("{prefix}.checks.status[{i}]"),
                            reason,
                        )
                    })?;
                    ranges.push(range);
                }
                checks.push(Check::Status(ranges));
            }
        }
        if let Some(text) = &raw.body_contains {
            let key = format!("{prefix}.checks.body_contains");
            if text.get_ref().is_empty() {
                return Err(self.error(&text.span(), key, "the text to look for is empty"));
            }
            let template = self.template(text, &key, names)?;
            checks.push(Check::BodyContains(template.render_with(|_| "x")));
            body_contains = Some(template);
        }
        if let Some(header) = &raw.header {
            let key = format!("{prefix}.checks.header");
            let names: Vec<&toml::Value> = match header.get_ref() {
                toml::Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            for name in names {
                match name {
                    toml::Value::String(s) if !s.is_empty() && s.bytes().all(is_token_byte) => {
                        checks.push(Check::HeaderPresent(s.clone()));
                    }
                    toml::Value::String(s) => {
                        return Err(self.error(
                            &header.span(),
                            key,
                            format!("bad header name {s:?}"),
                        ));
                    }
                    other => {
                        return Err(self.error(
                            &header.span(),
                            key,
                            format!(
                                "expected a header name or a list of them, found {}",
                                describe(other)
                            ),
                        ));
                    }
                }
            }
        }
        Ok((checks, body_contains))
    }
}

/// Adds advice to toml's message where a common mistake explains it.
fn with_hint(key: &str, message: String) -> String {
    for top in ["budgets", "mode"] {
        if message.starts_with(&format!("unknown field `{top}`")) && key.contains('.') {
            return format!(
                "{message}; `{top}` is a top-level key: move it above the first [table] (TOML puts a key written after a [table] header into that table)"
            );
        }
    }
    message
}

/// Locates a TOML deserialization error of any file (not only scenarios):
/// its line, column and the key path it falls under. Other perfhub
/// configuration files (`perfhub.toml`) report their errors the same way.
pub fn locate_toml_error(text: &str, file: &str, e: &toml::de::Error) -> ScenarioError {
    Ctx {
        text,
        file,
        prefix: "",
    }
    .toml_error(e)
}

/// An error at byte `offset` of a TOML file, under `key`.
pub fn error_at_offset(
    text: &str,
    file: &str,
    offset: usize,
    key: impl Into<String>,
    message: impl Into<String>,
) -> ScenarioError {
    Ctx {
        text,
        file,
        prefix: "",
    }
    .error_at(Some(offset), key, message)
}

/// The inclusive status range an entry of `checks.status` stands for.
fn status_range(value: &toml::Value) -> Result<(u16, u16), String> {
    let in_range = |code: i64| -> Result<u16, String> {
        u16::try_from(code)
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| format!("status {code} is not an HTTP status (100 to 599)"))
    };
    match value {
        toml::Value::Integer(code) => {
            let c = in_range(*code)?;
            Ok((c, c))
        }
        toml::Value::String(s) => {
            let t = s.trim();
            let bad = || {
                format!(
                    "bad status {s:?}: give a code (200), a class (\"2xx\") or a range (\"200-299\")"
                )
            };
            if let Some(class) = t.strip_suffix("xx").or_else(|| t.strip_suffix("XX")) {
                let digit: i64 = class.parse().map_err(|_| bad())?;
                if class.len() != 1 {
                    return Err(bad());
                }
                let lo = in_range(digit * 100)?;
                return Ok((lo, lo + 99));
            }
            if let Some((a, b)) = t.split_once('-') {
                let lo = in_range(a.trim().parse().map_err(|_| bad())?)?;
                let hi = in_range(b.trim().parse().map_err(|_| bad())?)?;
                if lo > hi {
                    return Err(format!("the status range {s:?} is empty ({lo} > {hi})"));
                }
                return Ok((lo, hi));
            }
            let c = in_range(t.parse().map_err(|_| bad())?)?;
            Ok((c, c))
        }
        other => Err(format!(
            "expected a status code or a string such as \"2xx\", found {}",
            describe(other)
        )),
    }
}

#[derive(Debug, PartialEq)]
enum SubstError {
    Undefined(String),
    BadName(String),
    Unterminated,
}

/// The largest data file read.
const MAX_DATA_FILE: u64 = 64 * 1024 * 1024;

/// The message for a `${name}` nothing defines.
fn undefined(name: &str, names: &Names) -> String {
    let mut defined: Vec<&str> = names.statics.keys().map(String::as_str).collect();
    defined.extend(
        names
            .ids
            .iter()
            .filter(|(_, id)| names.known.contains(id))
            .map(|(n, _)| n.as_str()),
    );
    defined.sort_unstable();
    let defined = if defined.is_empty() {
        "no variables are defined".to_string()
    } else {
        format!("defined: {}", defined.join(", "))
    };
    if names.ids.is_empty() && names.extracted_by.is_empty() {
        format!("undefined variable `{name}`; define it under [variables] ({defined})")
    } else {
        format!(
            "undefined variable `{name}`; define it under [variables], as a data column, or with an extract of an earlier request ({defined})"
        )
    }
}

/// A CSV data file: the header row names the columns.
fn data_csv(bytes: &[u8]) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(|c| c.trim().to_string())
        .collect();
    if columns.is_empty() || columns.iter().all(String::is_empty) {
        return Err(
            "it is empty: its first row must name the columns, such as user,password".into(),
        );
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err("it has a header row but no rows: add one row per virtual user".into());
    }
    Ok((columns, rows))
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {}: a row of {len} values where the header has {expected_len} columns; give every row one value per column",
            pos.as_ref().map_or(0, csv::Position::line)
        ),
        _ => e.to_string(),
    }
}

/// A JSON data file: an array of objects with the same keys, whose values
/// are strings, numbers or booleans.
fn data_json(bytes: &[u8]) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let serde_json::Value::Array(items) = value else {
        return Err("expected a JSON array of objects, such as [{\"user\": \"a\"}]".into());
    };
    let Some(first) = items.first() else {
        return Err("the array is empty: add one object per virtual user".into());
    };
    let serde_json::Value::Object(first) = first else {
        return Err("[0] is not an object".into());
    };
    let columns: Vec<String> = first.keys().cloned().collect();
    if columns.is_empty() {
        return Err("[0] has no keys: its keys name the columns".into());
    }
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let serde_json::Value::Object(object) = item else {
            return Err(format!("[{i}] is not an object"));
        };
        if object.len() != columns.len() || !columns.iter().all(|c| object.contains_key(c)) {
            let keys: Vec<&str> = object.keys().map(String::as_str).collect();
            return Err(format!(
                "[{i}] has the keys {} where [0] has {}; give every object the same keys",
                keys.join(", "),
                columns.join(", ")
            ));
        }
        let mut row = Vec::with_capacity(columns.len());
        for c in &columns {
            row.push(match &object[c] {
                serde_json::Value::String(s) => s.clone(),
                v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => v.to_string(),
                _ => {
                    return Err(format!("[{i}].{c} is not a string, number or boolean"));
                }
            });
        }
        rows.push(row);
    }
    Ok((columns, rows))
}

/// What a `${name}` stands for.
enum Resolved<'a> {
    /// A `[variables]` value, substituted when the file is read.
    Text(&'a str),
    /// A value a virtual user has at run time (a data column, an
    /// extraction), by its number in the flow.
    Var(usize),
}

/// Replaces `${name}` with the variable's value and `$$` with `$`.
#[cfg(test)]
fn substitute(text: &str, variables: &BTreeMap<String, String>) -> Result<String, SubstError> {
    substitute_with(text, |name| variables.get(name).map(|v| Resolved::Text(v)))
        .map(|t| t.render_with(|_| ""))
}

/// Replaces `${name}` with what `resolve` gives and `$$` with `$`.
fn substitute_with<'a>(
    text: &str,
    resolve: impl Fn(&str) -> Option<Resolved<'a>>,
) -> Result<Template, SubstError> {
    let mut out = Template::text("");
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_text(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push_text("$");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail.find('}').ok_or(SubstError::Unterminated)?;
            let name = &tail[..end];
            if !is_variable_name(name) {
                return Err(SubstError::BadName(name.to_string()));
            }
            match resolve(name).ok_or_else(|| SubstError::Undefined(name.to_string()))? {
                Resolved::Text(value) => out.push_text(value),
                Resolved::Var(id) => out.push_var(id),
            }
            rest = &tail[end + 1..];
        } else {
            out.push_text("$");
            rest = after;
        }
    }
    out.push_text(rest);
    Ok(out)
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A `tchar` of RFC 9110: what a header name is made of.
fn describe(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// The 1-based line and character column of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A key as written in a path: bare when TOML allows it, quoted otherwise.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// One step of a key path.
enum Step {
    Key(String),
    Index(usize),
}

fn render_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&toml_key(k));
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The path of the most specific key or value whose span holds byte
/// `offset`, such as `request[1].weight`; empty when the document does not
/// parse or nothing holds it.
fn key_path_at(text: &str, offset: usize) -> String {
    let Ok(root) = DeTable::parse(text) else {
        return String::new();
    };
    let mut best: Option<(usize, String)> = None;
    let mut path = Vec::new();
    visit_table(root.get_ref(), offset, &mut path, &mut best);
    best.map(|(_, p)| p).unwrap_or_default()
}

fn consider(span: &Range<usize>, offset: usize, path: &[Step], best: &mut Option<(usize, String)>) {
    let holds = span.start <= offset && offset < span.end.max(span.start + 1);
    if !holds {
        return;
    }
    let len = span.end.saturating_sub(span.start);
    // The smallest span wins; among equal spans the deeper path, seen later.
    if best.as_ref().is_none_or(|(l, _)| len <= *l) {
        *best = Some((len, render_path(path)));
    }
}

fn visit_table(
    table: &DeTable<'_>,
    offset: usize,
    path: &mut Vec<Step>,
    best: &mut Option<(usize, String)>,
) {
    for (key, value) in table {
        path.push(Step::Key(key.get_ref().to_string()));
        consider(&key.span(), offset, path, best);
        consider(&value.span(), offset, path, best);
        visit_value(value.get_ref(), offset, path, best);
        path.pop();
    }
}

fn visit_value(
    value: &DeValue<'_>,
    offset: usize,
    path: &mut Vec<Step>,
    best: &mut Option<(usize, String)>,
) {
    match value {
        DeValue::Table(t) => visit_table(t, offset, path, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                consider(&item.span(), offset, path, best);
                visit_value(item.get_ref(), offset, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"# A complete scenario.
mode = "weighted"
budgets = ["p95 < 200ms", "error_rate < 0.1%"]

[variables]
host = "http://127.0.0.1:8080"
token = "abc"
user_id = 42

[load]
rate = 500
connections = 32
duration = "30s"
timeout = "2s"

[[request]]
name = "home"
url = "${host}/"
weight = 3
budgets = ["p(99)<300ms"]
checks = { status = [200, "3xx"], body_contains = "Welcome", header = "content-type" }

[[request]]
name = "login"
method = "post"
url = "${host}/login?next=$$home"
headers = { "content-type" = "application/json", authorization = "Bearer ${token}" }
body = '{"user":"a","id":${user_id}}'
"#;

    fn err(text: &str) -> ScenarioError {
        parse_scenario(text, "scenario.toml").unwrap_err()
    }

    /// Asserts the error's line, key and that its message contains `needle`.
    fn assert_err(e: &ScenarioError, line: usize, key: &str, needle: &str) {
        assert_eq!(e.file, "scenario.toml", "{e}");
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.column.is_some(), "{e}");
        assert_eq!(e.key, key, "{e}");
        assert!(e.message.contains(needle), "{e}");
    }

    #[test]
    fn a_complete_scenario_parses() {
        let s = parse_scenario(FULL, "scenario.toml").unwrap();
        assert_eq!(s.mode, Mode::Weighted);
        assert_eq!(s.budgets, ["p95 < 200ms", "error_rate < 0.1%"]);
        assert_eq!(
            s.load,
            LoadDefaults {
                rate: Some(500.0),
                connections: Some(32),
                duration: Some(Duration::from_secs(30)),
                timeout: Some(Duration::from_secs(2)),
                iterations: None,
                stages: Vec::new(),
                vus: None,
                vu_stages: Vec::new(),
            }
        );
        assert_eq!(s.requests.len(), 2);

        let home = &s.requests[0];
        assert_eq!(home.name, "home");
        assert_eq!(home.method.as_str(), "GET");
        assert_eq!(home.url.to_string(), "http://127.0.0.1:8080/");
        assert_eq!(home.weight, 3);
        assert_eq!(home.budgets, ["p(99)<300ms"]);
        assert_eq!(
            home.checks,
            [
                Check::Status(vec![(200, 200), (300, 399)]),
                Check::BodyContains("Welcome".into()),
                Check::HeaderPresent("content-type".into()),
            ]
        );
        assert!(home.headers.is_empty() && home.body.is_empty());

        let login = &s.requests[1];
        assert_eq!(login.method.as_str(), "POST");
        assert_eq!(
            login.url.to_string(),
            "http://127.0.0.1:8080/login?next=$home"
        );
        assert_eq!(
            login.headers,
            [
                ("authorization".to_string(), "Bearer abc".to_string()),
                ("content-type".to_string(), "application/json".to_string()),
            ]
        );
        assert_eq!(login.body, br#"{"user":"a","id":42}"#);
        assert_eq!(login.weight, 1);
        assert_eq!(login.checks, [Check::Status(vec![(200, 399)])]);
    }

    #[test]
    fn defaults_and_sequence_mode() {
        let s = parse_scenario(
            r#"mode = "sequence"
[[request]]
url = "http://h/a"
[[request]]
method = "DELETE"
url = "http://h/a"
checks = { status = [] }
"#,
            "s.toml",
        )
        .unwrap();
        assert_eq!(s.mode, Mode::Sequence);
        assert_eq!(s.load, LoadDefaults::default());
        assert!(s.budgets.is_empty());
        assert_eq!(s.requests[0].name, "/a");
        assert_eq!(s.requests[1].name, "DELETE /a");
        assert!(s.requests[1].checks.is_empty());
    }

    #[test]
    fn variables_are_substituted_in_url_headers_and_body() {
        let s = parse_scenario(
            r#"[variables]
base = "https://api.example.com"
v = 2
flag = true
[[request]]
url = "${base}/v${v}/items"
headers = { x-flag = "${flag}" }
body = "$${not_a_var} ${v}$"
"#,
            "s.toml",
        )
        .unwrap();
        let r = &s.requests[0];
        assert_eq!(r.url.to_string(), "https://api.example.com/v2/items");
        assert_eq!(r.headers, [("x-flag".to_string(), "true".to_string())]);
        assert_eq!(r.body, b"${not_a_var} 2$");
    }

    #[test]
    fn undefined_variable_names_it_and_points_at_it() {
        let e =
            err("[variables]\nhost = \"http://h\"\n[[request]]\nurl = \"${host}/${missing}\"\n");
        assert_err(&e, 4, "request[0].url", "undefined variable `missing`");
        assert!(e.message.contains("defined: host"), "{e}");
        assert_eq!(e.column, Some(16), "{e}");

        let e = err("[[request]]\nurl = \"http://h/\"\nheaders = { a = \"${nope\" }\n");
        assert_err(&e, 3, "request[0].headers.a", "unterminated `${`");
        let e = err("[[request]]\nurl = \"http://h/\"\nbody = \"${no pe}\"\n");
        assert_err(&e, 3, "request[0].body", "bad variable reference");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_key() {
        let e = err(
            "[[request]]\nurl = \"http://h/\"\n\n[[request]]\nurl = \"http://h/b\"\nwieght = 2\n",
        );
        assert_err(&e, 6, "request[1].wieght", "unknown field `wieght`");
        assert_eq!(e.column, Some(1));

        let e =
            err("[load]\nrate = 5\nbudgets = [\"p95 < 1s\"]\n[[request]]\nurl = \"http://h/\"\n");
        assert_err(&e, 3, "load.budgets", "move it above the first [table]");

        let e = err("[[request]]\nurl = \"http://h/\"\nchecks = { staus = [200] }\n");
        assert_err(&e, 3, "request[0].checks.staus", "unknown field `staus`");

        let e = err("colour = 1\n[[request]]\nurl = \"http://h/\"\n");
        assert_err(&e, 1, "colour", "unknown field `colour`");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let e = err("[load]\nconnections = \"many\"\n[[request]]\nurl = \"http://h/\"\n");
        assert_err(&e, 2, "load.connections", "invalid type");

        let e = err("[[request]]\nurl = \"http://h/\"\n[[request]]\nurl = 5\n");
        assert_err(&e, 4, "request[1].url", "invalid type");

        let e = err("mode = \"random\"\n[[request]]\nurl = \"http://h/\"\n");
        assert_err(&e, 1, "mode", "unknown variant `random`");

        let e = err("[[request]]\nname = \"a\"\n");
        assert_err(&e, 1, "request[0]", "missing field `url`");
    }

    #[test]
    fn bad_urls_methods_and_weights() {
        let e = err("[[request]]\nname = \"x\"\nurl = \"htp:/x\"\n");
        assert_err(&e, 3, "request[0].url", "bad URL \"htp:/x\"");
        assert_eq!(
            e.to_string().split(": ").take(3).collect::<Vec<_>>(),
            ["scenario.toml:3:7", "request[0].url", "bad URL \"htp:/x\""]
        );

        let e = err("[[request]]\nurl = \"http://h/\"\nmethod = \"GE T\"\n");
        assert_err(&e, 3, "request[0].method", "bad HTTP method");

        let e = err("[[request]]\nurl = \"http://h/\"\nweight = 0\n");
        assert_err(&e, 3, "request[0].weight", "from 1 up, not 0");

        let e = err("[[request]]\nurl = \"http://h/\"\nheaders = { Host = \"x\" }\n");
        assert_err(&e, 3, "request[0].headers.Host", "set by perfhub");

        let e = err("[[request]]\nurl = \"http://h/\"\nheaders = { \"a b\" = \"x\" }\n");
        assert_err(&e, 3, "request[0].headers.\"a b\"", "bad header name");
    }

    #[test]
    fn bad_budgets_point_into_the_expression() {
        let e = err(
            "budgets = [\"p95 < 200ms\", \"p95 < 200 parsecs\"]\n[[request]]\nurl = \"http://h/\"\n",
        );
        assert_err(&e, 1, "budgets[1]", "invalid budget \"p95 < 200 parsecs\"");
        // The column of "parsecs" inside the second string.
        assert_eq!(e.column, Some(38), "{e}");

        let e = err("[[request]]\nurl = \"http://h/\"\nbudgets = [\"p(99) <\"]\n");
        assert_err(&e, 3, "request[0].budgets[0]", "invalid budget");
    }

    #[test]
    fn bad_status_codes_and_load_values() {
        let e = err("[[request]]\nurl = \"http://h/\"\nchecks = { status = [200, 700] }\n");
        assert_err(
            &e,
            3,
            "request[0].checks.status[1]",
            "status 700 is not an HTTP status",
        );
        let e = err("[[request]]\nurl = \"http://h/\"\nchecks = { status = [\"2xy\"] }\n");
        assert_err(&e, 3, "request[0].checks.status[0]", "bad status \"2xy\"");
        let e = err("[[request]]\nurl = \"http://h/\"\nchecks = { status = [\"299-200\"] }\n");
        assert_err(&e, 3, "request[0].checks.status[0]", "is empty");

        let e = err("[load]\nduration = \"30 parsecs\"\n[[request]]\nurl = \"http://h/\"\n");
        assert_err(&e, 2, "load.duration", "unknown time unit");
        let e = err("[load]\ntimeout = \"0s\"\n[[request]]\nurl = \"http://h/\"\n");
        assert_err(&e, 2, "load.timeout", "more than 0");
        let e = err("[load]\nrate = -1\n[[request]]\nurl = \"http://h/\"\n");
        assert_err(&e, 2, "load.rate", "positive");
        let e = err("[load]\nconnections = 0\n[[request]]\nurl = \"http://h/\"\n");
        assert_err(&e, 2, "load.connections", "at least 1");
        let s = parse_scenario(
            "[load]\nduration = 90\ntimeout = 0.5\n[[request]]\nurl = \"http://h/\"\n",
            "s.toml",
        )
        .unwrap();
        assert_eq!(s.load.duration, Some(Duration::from_secs(90)));
        assert_eq!(s.load.timeout, Some(Duration::from_millis(500)));
    }

    #[test]
    fn durations_beyond_the_caps_are_refused_with_the_cap() {
        let load = |table: &str| {
            err(&format!(
                "[load]\n{table}\n[[request]]\nurl = \"http://h/\"\n"
            ))
        };
        for (table, key, message) in [
            (
                "duration = \"9999999999h\"",
                "load.duration",
                "\"9999999999h\" is longer than 30 days, the most allowed here: give 720h or less",
            ),
            (
                "duration = \"9223372036854775807s\"",
                "load.duration",
                "\"9223372036854775807s\" is longer than 30 days, the most allowed here: give 720h or less",
            ),
            (
                "duration = 9223372036854775807",
                "load.duration",
                "\"9223372036854775807s\" is longer than 30 days, the most allowed here: give 720h or less",
            ),
            (
                "duration = 1e300",
                "load.duration",
                "\"1e300s\" is longer than 30 days, the most allowed here: give 720h or less",
            ),
            (
                "timeout = \"9223372036854775807s\"",
                "load.timeout",
                "\"9223372036854775807s\" is longer than 1 hour, the most allowed here: give 1h or less",
            ),
            (
                "timeout = \"61m\"",
                "load.timeout",
                "\"61m\" is longer than 1 hour, the most allowed here: give 1h or less",
            ),
            (
                "timeout = 3601",
                "load.timeout",
                "\"3601s\" is longer than 1 hour, the most allowed here: give 1h or less",
            ),
        ] {
            let e = load(table);
            assert_err(&e, 2, key, message);
            assert_eq!(e.message, message, "{table}");
        }
        let s = parse_scenario(
            "[load]\nduration = \"720h\"\ntimeout = 3600\n[[request]]\nurl = \"http://h/\"\n",
            "s.toml",
        )
        .unwrap();
        assert_eq!(s.load.duration, Some(crate::engine::MAX_DURATION));
        assert_eq!(s.load.timeout, Some(crate::engine::MAX_TIMEOUT));
    }

    #[test]
    fn duplicate_names_point_at_the_second() {
        let e = err(
            "[[request]]\nname = \"a\"\nurl = \"http://h/1\"\n[[request]]\nname = \"a\"\nurl = \"http://h/2\"\n",
        );
        assert_err(&e, 5, "request[1].name", "duplicate request name \"a\"");
        assert!(e.message.contains("request[0] (line 2)"), "{e}");

        // Default names collide too, and the error points at the URL.
        let e = err("[[request]]\nurl = \"http://h/x\"\n[[request]]\nurl = \"http://h/x?b=1\"\n");
        assert_err(&e, 4, "request[1].name", "duplicate request name \"/x\"");
    }

    #[test]
    fn misplaced_top_level_keys_and_missing_requests() {
        let e = err(
            "[variables]\nhost = \"http://h\"\nmode = \"sequence\"\n[[request]]\nurl = \"${host}/\"\n",
        );
        assert_err(&e, 3, "variables.mode", "top-level key");
        let e = err("[variables]\nlist = [1]\n[[request]]\nurl = \"http://h/\"\n");
        assert_err(&e, 2, "variables.list", "not an array");

        let e = err("[load]\nrate = 10\n");
        assert_err(&e, 3, "request", "at least one request");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = err("[[request]]\nurl = \"http://h/\n");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.column.is_some());
        assert!(e.to_string().starts_with("scenario.toml:2:"), "{e}");
    }

    #[test]
    fn load_scenario_reads_files_and_names_them() {
        let dir = std::env::temp_dir().join(format!("perfhub-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(&good, FULL).unwrap();
        assert_eq!(load_scenario(&good).unwrap().requests.len(), 2);

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[[request]]\nurl = \"ftp://h/\"\n").unwrap();
        let e = load_scenario(&bad).unwrap_err();
        assert_eq!(e.file, bad.display().to_string());
        assert_eq!((e.line, e.key.as_str()), (Some(2), "request[0].url"));

        let missing = dir.join("missing.toml");
        let e = load_scenario(&missing).unwrap_err();
        assert_eq!(e.line, None);
        assert!(
            e.to_string().contains("cannot read the scenario file"),
            "{e}"
        );

        let binary = dir.join("binary.toml");
        std::fs::write(&binary, b"# ok\n\xff\xfe").unwrap();
        let e = load_scenario(&binary).unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(1)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_documented_example_parses() {
        let source = include_str!("scenario.rs");
        let open = "//! ```toml\n";
        let start = source.find(open).unwrap() + open.len();
        let end = start + source[start..].find("//! ```\n").unwrap();
        let example: String = source[start..end]
            .lines()
            .map(|l| {
                let l = l.strip_prefix("//!").unwrap_or(l);
                format!("{}\n", l.strip_prefix(' ').unwrap_or(l))
            })
            .collect();
        let s = parse_scenario(&example, "example.toml").unwrap();
        assert_eq!(s.requests.len(), 2);
        assert_eq!(s.requests[1].body, br#"{"user":"a","id":42}"#);
        assert_eq!(s.load.rate, Some(500.0));
    }

    #[test]
    fn a_sequence_carries_data_columns_and_extractions_to_later_requests() {
        let dir = tempfile_dir();
        std::fs::write(
            dir.join("users.json"),
            r#"[{"user": "a", "pin": 1}, {"user": "b", "pin": 2}]"#,
        )
        .unwrap();
        let file = dir.join("flow.toml");
        let text = r#"mode = "sequence"
[variables]
host = "http://127.0.0.1:8080"
[data]
file = "users.json"
order = "random"
[[request]]
method = "POST"
url = "${host}/login"
body = '{"user":"${user}","pin":${pin}}'
extract = { token = "json:$.token", order = "json:$.orders[0].id" }
[[request]]
url = "${host}/orders/${order}?user=${user}"
headers = { authorization = "Bearer ${token}" }
checks = { body_contains = "${user}" }
"#;
        let s = parse_scenario(text, file.to_str().unwrap()).unwrap();
        let flow = s.flow.unwrap();
        assert!(flow.cookies);
        let data = flow.data.as_ref().unwrap();
        assert_eq!(data.order, Order::Random);
        // A JSON file's columns are in key order.
        assert_eq!(data.rows, [["1", "a"], ["2", "b"]]);
        // Data columns first, then extractions in order of appearance.
        let names: Vec<&str> = flow.names.iter().map(String::as_str).collect();
        assert_eq!(names.len(), 4);
        assert_eq!(flow.requests[0].extract.len(), 2);
        assert!(flow.requests[0].url.is_static());
        assert_eq!(flow.requests[1].url.vars().count(), 2);
        assert!(flow.requests[1].body_contains.is_some());
        // Named after the path as written, with its `${name}`.
        assert_eq!(s.requests[1].name, "/orders/${order}");
        assert_eq!(s.requests[0].name, "POST /login");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn flow_mistakes_name_their_key() {
        let dir = tempfile_dir();
        let file = dir.join("f.toml");
        let name = file.to_str().unwrap();
        let parse = |text: &str| parse_scenario(text, name).unwrap_err();
        std::fs::write(dir.join("ragged.json"), r#"[{"a": "1"}, {"b": "2"}]"#).unwrap();
        std::fs::write(dir.join("bad-column.csv"), "1st,b\nx,y\n").unwrap();
        std::fs::write(dir.join("headers-only.csv"), "a,b\n").unwrap();
        let seq = "mode = \"sequence\"\n";
        let req = "[[request]]\nurl = \"http://h/\"\n";
        let cases = [
            (
                format!("{seq}[data]\nfile = \"ragged.json\"\n{req}"),
                "data.file",
                "[1] has the keys b where [0] has a",
            ),
            (
                format!("{seq}[data]\nfile = \"bad-column.csv\"\n{req}"),
                "data.file",
                "the column name \"1st\" cannot be a variable",
            ),
            (
                format!("{seq}[data]\nfile = \"headers-only.csv\"\n{req}"),
                "data.file",
                "no rows",
            ),
            (
                format!("{seq}[data]\nfile = \"/dev/zero\"\n{req}"),
                "data.file",
                "not a regular file",
            ),
            (
                format!("{seq}[data]\nfile = \"ragged.json\"\norder = \"shuffled\"\n{req}"),
                "data.order",
                "unknown order",
            ),
            (
                format!("{seq}[variables]\nt = \"1\"\n{req}extract = {{ t = \"header:X\" }}\n"),
                "request[0].extract.t",
                "is a [variables] entry",
            ),
            (
                format!("{seq}{req}url2 = 1\n"),
                "request[0].url2",
                "unknown field",
            ),
            (
                "[[request]]\nurl = \"http://h/${u}\"\n[[request]]\nurl = \"http://h/\"\n"
                    .to_string(),
                "request[0].url",
                "undefined variable `u`",
            ),
            (
                format!(
                    "{seq}[[request]]\nurl = \"http://h${{t}}/\"\n[[request]]\nurl = \"http://h/\"\nextract = {{ t = \"header:X\" }}\n"
                ),
                "request[0].url",
                "extracted by request[1]",
            ),
            (
                format!(
                    "{seq}{req}extract = {{ t = \"header:X\" }}\n[[request]]\nurl = \"http://h${{t}}/\"\n"
                ),
                "request[1].url",
                "not its scheme, host or port",
            ),
        ];
        for (text, key, needle) in cases {
            let e = parse(&text);
            assert_eq!(e.key, key, "{e}");
            assert!(e.line.is_some() && e.column.is_some(), "{e}");
            assert!(e.message.contains(needle), "{e}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn csv_data_files_take_quotes_a_byte_order_mark_and_crlf() {
        let (columns, rows) =
            data_csv(b"\xef\xbb\xbfuser, password\r\n\"o'brien, jr\",\"p\"\"w\"\r\nb,c\r\n")
                .unwrap();
        assert_eq!(columns, ["user", "password"]);
        assert_eq!(rows, [["o'brien, jr", "p\"w"], ["b", "c"]]);
    }

    /// A fresh directory under the system's temporary one.
    fn tempfile_dir() -> std::path::PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "perfhub-scenario-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn substitution_rules() {
        let vars: BTreeMap<String, String> = [("a".to_string(), "1".to_string())].into();
        assert_eq!(substitute("x${a}y$$z$", &vars).unwrap(), "x1y$z$");
        assert_eq!(
            substitute("${b}", &vars),
            Err(SubstError::Undefined("b".into()))
        );
        assert_eq!(substitute("${a", &vars), Err(SubstError::Unterminated));
        assert_eq!(
            substitute("${}", &vars),
            Err(SubstError::BadName(String::new()))
        );
    }
}
