//! Virtual users that behave like users: a sequence scenario's requests run
//! in order by each virtual user, values taken from one response are used
//! by the requests after it, each user reads its own row of a data file and
//! keeps its own cookies.
//!
//! A [`Flow`] is built by the scenario parser (which checks every name
//! statically) and run by both engine loops through the same sans-I/O
//! pieces: `Vu::render` writes the next request, `Catch` takes what the
//! extractions need while the response is parsed, and `Vu::after`
//! extracts, stores cookies, and says whether the iteration goes on.
//!
//! # What a virtual user keeps (the bound)
//!
//! - its variables: one value per data column and per extraction, each at
//!   most [`MAX_VALUE`] (64 KiB; a longer value fails its extraction);
//! - its cookies: at most [`MAX_COOKIES`] (50), each name and value at most
//!   4 KiB together (a larger one is ignored, as browsers do);
//! - the requests it sends, written again only where a value changes;
//! - for a request that extracts from the body (`json:` or `regex:`), the
//!   body as it arrives up to [`MAX_BODY`] (1 MiB; a longer body fails
//!   those extractions), emptied after the response. Nothing else of a
//!   body is kept: `header:` extractions and cookies read the head only.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rand::{Rng, SeedableRng};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::http1::{Prepared, Response, Sink};
use crate::request::{Check, RequestSpec, parse_url};

/// The longest value a variable may hold.
pub const MAX_VALUE: usize = 64 * 1024;
/// The most cookies one virtual user keeps.
pub const MAX_COOKIES: usize = 50;
/// The longest cookie (name and value) kept.
pub const MAX_COOKIE: usize = 4096;
/// The most of a body kept for `json:` and `regex:` extractions.
pub const MAX_BODY: usize = 1024 * 1024;

/// A text with `${name}` references to values known only at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// A variable by its number in [`Flow::names`].
    Var(usize),
}

impl Template {
    /// A template of plain text.
    pub fn text(text: impl Into<String>) -> Template {
        let text = text.into();
        Template {
            pieces: if text.is_empty() {
                Vec::new()
            } else {
                vec![Piece::Text(text)]
            },
        }
    }

    /// Appends plain text.
    pub fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Piece::Text(last)) = self.pieces.last_mut() {
            last.push_str(text);
        } else {
            self.pieces.push(Piece::Text(text.to_string()));
        }
    }

    /// Appends a reference to variable `id`.
    pub fn push_var(&mut self, id: usize) {
        self.pieces.push(Piece::Var(id));
    }

    /// Whether the template holds no reference (its text is all of it).
    pub fn is_static(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Text(_)))
    }

    /// The variables it refers to.
    pub fn vars(&self) -> impl Iterator<Item = usize> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var(id) => Some(*id),
            Piece::Text(_) => None,
        })
    }

    /// The text with every reference replaced by `value(id)`.
    pub fn render_with<'a>(&'a self, value: impl Fn(usize) -> &'a str) -> String {
        let mut out = String::new();
        self.render_into(&mut out, value);
        out
    }

    fn render_into<'a>(&'a self, out: &mut String, value: impl Fn(usize) -> &'a str) {
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(id) => out.push_str(value(*id)),
            }
        }
    }
}

/// Where an extraction takes its value from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A JSON value of the body, by a path such as `$.orders[0].id`.
    Json(JsonPath),
    /// A response header's first value (the name in lower case).
    Header(String),
    /// The first capture group of a regular expression over the body.
    Regex(regex::bytes::Regex),
}

impl PartialEq for Source {
    fn eq(&self, other: &Source) -> bool {
        match (self, other) {
            (Source::Json(a), Source::Json(b)) => a == b,
            (Source::Header(a), Source::Header(b)) => a == b,
            (Source::Regex(a), Source::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Source {
    /// Reads `json:PATH`, `header:NAME` or `regex:PATTERN`.
    pub fn parse(text: &str) -> Result<Source, String> {
        let (prefix, rest) = text.split_once(':').ok_or_else(|| {
            format!("{text:?} names no source: write json:$.path, header:Name or regex:pattern(with a group)")
        })?;
        match prefix {
            "json" => JsonPath::parse(rest).map(Source::Json),
            "header" => {
                let name = rest.trim();
                if name.is_empty() || !name.bytes().all(crate::request::is_token_byte) {
                    return Err(format!("bad header name {name:?} after header:"));
                }
                Ok(Source::Header(name.to_ascii_lowercase()))
            }
            "regex" => {
                let re = regex::bytes::RegexBuilder::new(rest)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("the regular expression does not parse: {e}"))?;
                if re.captures_len() < 2 {
                    return Err(format!(
                        "the regular expression {rest:?} has no capture group: put the part to take in ( )"
                    ));
                }
                Ok(Source::Regex(re))
            }
            other => Err(format!(
                "unknown extraction source {other:?}: use json:, header: or regex:"
            )),
        }
    }

    fn reads_body(&self) -> bool {
        !matches!(self, Source::Header(_))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Json(p) => write!(f, "json:{p}"),
            Source::Header(h) => write!(f, "header:{h}"),
            Source::Regex(r) => write!(f, "regex:{}", r.as_str()),
        }
    }
}

/// The JSONPath subset extractions take: `$` for the root, `.key` or
/// `['key']` for a member, `[n]` for an array element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    steps: Vec<JsonStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum JsonStep {
    Key(String),
    Index(usize),
}

impl JsonPath {
    /// Parses a path such as `$.orders[0].id`.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let bad = |why: &str| format!("bad JSON path {text:?}: {why}");
        let mut rest = text
            .trim()
            .strip_prefix('$')
            .ok_or_else(|| bad("it must start with $ (the whole body)"))?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let key = &after[..end];
                if key.is_empty() {
                    return Err(bad("a `.` must be followed by a key"));
                }
                if key == "*" {
                    return Err(bad("wildcards are not supported: name the key"));
                }
                steps.push(JsonStep::Key(key.to_string()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after
                    .find(']')
                    .ok_or_else(|| bad("a `[` is not closed by `]`"))?;
                let inner = after[..end].trim();
                if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(JsonStep::Key(q.to_string()));
                } else {
                    let n: usize = inner.parse().map_err(|_| {
                        bad("`[...]` holds an index from 0 or a quoted key, such as [0] or ['id']")
                    })?;
                    steps.push(JsonStep::Index(n));
                }
                rest = &after[end + 1..];
            } else {
                return Err(bad("expected `.key` or `[n]` after the root or a step"));
            }
        }
        Ok(JsonPath { steps })
    }

    /// The value at the path in `body`, as text: a string as it is, a
    /// number or boolean as written, an object or array as compact JSON;
    /// `None` when the path leads nowhere (or to `null`), an error when the
    /// body is not JSON. Walks the document without building it.
    pub fn find(&self, body: &[u8]) -> Result<Option<String>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let found = Find(&self.steps).deserialize(&mut de)?;
        de.end()?;
        Ok(found)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for s in &self.steps {
            match s {
                JsonStep::Key(k) if k.contains(['.', '[', ']']) => write!(f, "['{k}']")?,
                JsonStep::Key(k) => write!(f, ".{k}")?,
                JsonStep::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// Walks to the value at the path; everything else is skipped unbuilt.
struct Find<'p>(&'p [JsonStep]);

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        match self.0.split_first() {
            None => {
                let v = serde_json::Value::deserialize(d)?;
                Ok(match v {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s),
                    other => Some(other.to_string()),
                })
            }
            Some((step, rest)) => d.deserialize_any(Step { step, rest }),
        }
    }
}

use serde::Deserialize as _;

struct Step<'p> {
    step: &'p JsonStep,
    rest: &'p [JsonStep],
}

/// A map key compared with the wanted one without keeping it.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

impl<'de> Visitor<'de> for Step<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let mut found = None;
        while let Some(is) = match self.step {
            JsonStep::Key(k) => map.next_key_seed(KeyIs(k))?,
            JsonStep::Index(_) => map.next_key_seed(KeyIs("\u{0}never"))?,
        } {
            if is && found.is_none() {
                found = map.next_value_seed(Find(self.rest))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        let mut found = None;
        if let JsonStep::Index(n) = self.step {
            let mut i = 0;
            while i < *n {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(None);
                }
                i += 1;
            }
            found = seq.next_element_seed(Find(self.rest))?.flatten();
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(found)
    }

    // Any other value has no members: the path leads nowhere.
    fn visit_bool<E>(self, _: bool) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
}

/// One value a request takes from its response.
#[derive(Debug, Clone, PartialEq)]
pub struct Extract {
    /// The variable it sets, by its number in [`Flow::names`].
    pub var: usize,
    /// Where the value comes from.
    pub source: Source,
}

/// A request of a flow: the parts that change with the virtual user's
/// values, beside the fixed [`RequestSpec`] it was parsed with.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRequest {
    /// The URL, whose host and port are fixed (checked when parsed).
    pub url: Template,
    /// Headers, in order.
    pub headers: Vec<(String, Template)>,
    /// The body.
    pub body: Template,
    /// The text the body must contain, if checked.
    pub body_contains: Option<Template>,
    /// What the response gives to later requests.
    pub extract: Vec<Extract>,
}

/// How virtual users take their rows of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Virtual user `v` takes row `v` modulo the rows.
    RoundRobin,
    /// Each virtual user takes a row at random (seeded: the same run
    /// gives the same rows).
    Random,
}

/// A data file's rows: each virtual user's columns become its variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// The variables the columns set, in column order.
    pub columns: Vec<usize>,
    /// The rows, each with one value per column.
    pub rows: Vec<Vec<String>>,
    /// How rows go to virtual users.
    pub order: Order,
}

/// Requests run in order by each virtual user, with values carried between
/// them.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The run-time variables by number: data columns, then extractions.
    pub names: Vec<String>,
    /// One per request of the load test, in the same order.
    pub requests: Vec<FlowRequest>,
    /// The data file, if any.
    pub data: Option<Data>,
    /// Whether each virtual user keeps cookies.
    pub cookies: bool,
}

impl Flow {
    /// Request `which`'s URL as written, with its `${name}`s.
    pub fn url_shown(&self, which: usize) -> String {
        let refs: Vec<String> = self.names.iter().map(|n| format!("${{{n}}}")).collect();
        self.requests[which].url.render_with(|id| refs[id].as_str())
    }

    /// A virtual user, numbered `v` among all of the test's.
    pub(crate) fn user(self: &Arc<Flow>, v: u64, specs: &[RequestSpec]) -> Vu {
        let mut values = vec![String::new(); self.names.len()];
        if let Some(data) = &self.data
            && !data.rows.is_empty()
        {
            let row = match data.order {
                Order::RoundRobin => (v % data.rows.len() as u64) as usize,
                Order::Random => {
                    rand_chacha::ChaCha8Rng::seed_from_u64(v).random_range(0..data.rows.len())
                }
            };
            for (id, value) in data.columns.iter().zip(&data.rows[row]) {
                values[*id] = value.clone();
            }
        }
        let prepared = specs.iter().map(Prepared::new).collect();
        Vu {
            flow: Arc::clone(self),
            values,
            step: 0,
            jar: Vec::new(),
            prepared,
            catch: Catch::default(),
            scratch: String::new(),
            host: String::new(),
            path: String::new(),
        }
    }
}

/// One virtual user's state: its values, cookies and next step.
pub(crate) struct Vu {
    flow: Arc<Flow>,
    values: Vec<String>,
    /// The request to send next; 0 starts an iteration.
    step: usize,
    jar: Vec<Cookie>,
    /// Each request as this user last wrote it.
    prepared: Vec<Prepared>,
    /// What the response being read gives.
    pub catch: Catch,
    scratch: String,
    /// The host and path of the request last written.
    host: String,
    path: String,
}

/// What happened to a flow's request beyond its response.
pub(crate) struct After {
    /// Why the iteration ended early (an extraction found nothing, the
    /// request failed, or a value could not be sent): the requests after
    /// this one in the iteration were skipped.
    pub abandoned: Option<String>,
    /// How many requests were skipped.
    pub skipped: std::ops::Range<usize>,
}

/// What one response gives the extractions and the cookie jar.
#[derive(Default)]
pub(crate) struct Catch {
    /// The first value of each `header:` extraction's header, by the
    /// extraction's place in its request.
    headers: Vec<Option<String>>,
    /// `Set-Cookie` values.
    set_cookies: Vec<String>,
    /// The body so far, when an extraction reads it.
    body: Vec<u8>,
    body_over: bool,
    /// Set for the request being read.
    wants_body: bool,
    wants_cookies: bool,
    header_names: Vec<Option<String>>,
}

impl Catch {
    fn prepare(&mut self, request: &FlowRequest, cookies: bool) {
        self.headers.clear();
        self.header_names.clear();
        for e in &request.extract {
            self.header_names.push(match &e.source {
                Source::Header(h) => Some(h.clone()),
                _ => None,
            });
            self.headers.push(None);
        }
        self.set_cookies.clear();
        self.body.clear();
        if self.body.capacity() > 64 * 1024 {
            self.body.shrink_to(64 * 1024);
        }
        self.body_over = false;
        self.wants_body = request.extract.iter().any(|e| e.source.reads_body());
        self.wants_cookies = cookies;
    }
}

impl Sink for Catch {
    fn header(&mut self, name: &str, value: &[u8]) {
        if self.wants_cookies && name.eq_ignore_ascii_case("set-cookie") {
            if self.set_cookies.len() < MAX_COOKIES
                && let Ok(v) = std::str::from_utf8(value)
            {
                self.set_cookies.push(v.to_string());
            }
            return;
        }
        for (slot, wanted) in self.headers.iter_mut().zip(&self.header_names) {
            if slot.is_none()
                && wanted
                    .as_deref()
                    .is_some_and(|w| name.eq_ignore_ascii_case(w))
            {
                *slot = Some(String::from_utf8_lossy(value).trim().to_string());
            }
        }
    }

    fn body(&mut self, data: &[u8]) {
        if !self.wants_body || self.body_over {
            return;
        }
        if self.body.len() + data.len() > MAX_BODY {
            self.body_over = true;
            self.body.clear();
            return;
        }
        self.body.extend_from_slice(data);
    }
}

/// A cookie kept for later requests.
struct Cookie {
    name: String,
    value: String,
    /// The host it came from, or the domain it is for.
    domain: String,
    host_only: bool,
    path: String,
    expires: Option<Instant>,
    secure: bool,
}

impl Vu {
    /// The request to send next, and whether it starts an iteration.
    pub fn next(&self) -> (usize, bool) {
        (self.step, self.step == 0)
    }

    /// Writes request `which` with this user's values and cookies. An
    /// error (a value that cannot be sent where it goes) abandons the
    /// iteration, as a failed extraction does.
    pub fn render(&mut self, which: usize, spec: &RequestSpec) -> Result<&Prepared, String> {
        let https = spec.url.scheme() == "https";
        if which == 0 {
            // A new iteration: nothing extracted yet, no cookies (as k6).
            self.jar.clear();
        }
        let flow = Arc::clone(&self.flow);
        let request = &flow.requests[which];
        self.catch.prepare(request, flow.cookies);
        let values = &self.values;
        let value = |id: usize| values[id].as_str();
        let prepared = &mut self.prepared[which];
        let url_text = request.url.render_with(value);
        let url = parse_url(&url_text).map_err(|e| {
            format!("the URL {url_text:?}, with this virtual user's values, is not usable: {e}")
        })?;
        let method = spec.method.as_str();
        let mut head = std::mem::take(&mut self.scratch);
        head.clear();
        crate::http1::write_request_line(&mut head, method, &url);
        self.path.clear();
        self.path.push_str(url.path());
        self.host.clear();
        self.host.push_str(url.host_str().unwrap_or_default());
        for (name, value_template) in &request.headers {
            let start = head.len();
            head.push_str(name);
            head.push_str(": ");
            let value_start = head.len();
            value_template.render_into(&mut head, value);
            if let Some(problem) = crate::request::header_value_problem(&head[value_start..]) {
                let name = name.clone();
                head.truncate(start);
                self.scratch = head;
                return Err(format!(
                    "header {name}, with this virtual user's values, cannot be sent: {problem}"
                ));
            }
            head.push_str("\r\n");
        }
        if flow.cookies {
            let now = Instant::now();
            self.jar.retain(|c| c.expires.is_none_or(|e| e > now));
            let host = url.host_str().unwrap_or_default();
            let mut first = true;
            for c in &self.jar {
                // Secure cookies go over HTTPS, or to this machine, which
                // browsers count as a secure context too.
                if (c.secure && !https && !is_loopback(host))
                    || !domain_matches(c, host)
                    || !path_matches(url.path(), &c.path)
                {
                    continue;
                }
                head.push_str(if first { "Cookie: " } else { "; " });
                first = false;
                head.push_str(&c.name);
                head.push('=');
                head.push_str(&c.value);
            }
            if !first {
                head.push_str("\r\n");
            }
        }
        let body_start = head.len();
        request.body.render_into(&mut head, value);
        let body_len = head.len() - body_start;
        if crate::http1::needs_length(method, body_len) {
            head.insert_str(body_start, &format!("Content-Length: {body_len}\r\n\r\n"));
        } else {
            head.insert_str(body_start, "\r\n");
        }
        prepared.bytes.clear();
        prepared.bytes.extend_from_slice(head.as_bytes());
        self.scratch = head;
        if let Some(t) = &request.body_contains {
            let text = t.render_with(value);
            for c in &mut prepared.checks {
                if let Check::BodyContains(needle) = c {
                    *needle = text;
                    break;
                }
            }
        }
        Ok(&self.prepared[which])
    }

    /// Request `which` as this user last wrote it.
    pub fn prepared(&self, which: usize) -> &Prepared {
        &self.prepared[which]
    }

    /// Request `which` as this user last wrote it, and the sink its
    /// response's reader gives what the extractions and the jar need.
    pub fn split(&mut self, which: usize) -> (&Prepared, &mut dyn Sink) {
        (&self.prepared[which], &mut self.catch)
    }

    /// Request `which` is done with `result`: runs its extractions, keeps
    /// its cookies, and moves to the next request. A failed extraction
    /// fails the response's checks and abandons the iteration, as does a
    /// failed request that had values to extract.
    pub fn after(
        &mut self,
        which: usize,
        result: &mut Result<(Response, u64), crate::http1::ErrorKind>,
    ) -> After {
        let flow = Arc::clone(&self.flow);
        let request = &flow.requests[which];
        let n = flow.requests.len();
        let abandon = |this: &mut Vu, why: String| {
            this.step = 0;
            After {
                abandoned: Some(why),
                skipped: which + 1..n,
            }
        };
        match result {
            Err(kind) => {
                if request.extract.is_empty() {
                    self.step = (which + 1) % n;
                    return After {
                        abandoned: None,
                        skipped: 0..0,
                    };
                }
                let why = format!(
                    "the request failed ({}), so nothing was extracted",
                    kind.name()
                );
                abandon(self, why)
            }
            Ok((response, _)) => {
                if flow.cookies {
                    let set = std::mem::take(&mut self.catch.set_cookies);
                    let (host, path) = (
                        std::mem::take(&mut self.host),
                        std::mem::take(&mut self.path),
                    );
                    for text in &set {
                        self.keep_cookie(text, &host, &path);
                    }
                    (self.host, self.path) = (host, path);
                    self.catch.set_cookies = set;
                }
                // Every extraction is tried, so that the note names all
                // that found nothing.
                let failed_checks = !response.checks_passed;
                let mut missing: Vec<String> = Vec::new();
                for (k, e) in request.extract.iter().enumerate() {
                    let name = &flow.names[e.var];
                    let found = match &e.source {
                        Source::Header(_) => self
                            .catch
                            .headers
                            .get_mut(k)
                            .and_then(Option::take)
                            .ok_or(""),
                        _ if self.catch.body_over => {
                            Err(": the body is over the 1 MiB extractions read")
                        }
                        Source::Json(p) => match p.find(&self.catch.body) {
                            Ok(found) => found.ok_or(""),
                            Err(_) => Err(": the body is not JSON"),
                        },
                        Source::Regex(re) => re
                            .captures(&self.catch.body)
                            .and_then(|c| c.get(1))
                            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
                            .ok_or(""),
                    };
                    match found {
                        Ok(v) if v.len() <= MAX_VALUE => self.values[e.var] = v,
                        Ok(v) => missing.push(format!(
                            "`{name}` ({}) found a value of {} bytes, over the 64 KiB a variable holds",
                            e.source,
                            v.len()
                        )),
                        Err(why) => {
                            missing.push(format!("`{name}` ({}) found nothing{why}", e.source));
                        }
                    }
                }
                if !missing.is_empty() {
                    response.checks_passed = false;
                    let why = if failed_checks {
                        format!(
                            "the response failed its checks (status {}): {}",
                            response.status,
                            missing.join("; ")
                        )
                    } else {
                        missing.join("; ")
                    };
                    return abandon(self, why);
                }
                self.catch.body.clear();
                self.step = (which + 1) % n;
                After {
                    abandoned: None,
                    skipped: 0..0,
                }
            }
        }
    }

    /// Request `which` could not be written: the iteration is abandoned.
    pub fn abandon(&mut self, which: usize) -> std::ops::Range<usize> {
        self.step = 0;
        which + 1..self.flow.requests.len()
    }

    /// Keeps the cookie a `Set-Cookie` value gives (RFC 6265, section 5.3),
    /// or deletes it when it has expired.
    fn keep_cookie(&mut self, text: &str, host: &str, request_path: &str) {
        let Ok(c) = cookie::Cookie::parse(text) else {
            return;
        };
        if c.name().is_empty() || c.name().len() + c.value().len() > MAX_COOKIE {
            return;
        }
        let host = host.to_ascii_lowercase();
        let (domain, host_only) = match c.domain() {
            Some(d) if !d.is_empty() => {
                let d = d.trim_start_matches('.').to_ascii_lowercase();
                // A cookie for another domain is refused.
                if host != d && !host.ends_with(&format!(".{d}")) {
                    return;
                }
                (d, false)
            }
            _ => (host, true),
        };
        let path = match c.path() {
            Some(p) if p.starts_with('/') => p.to_string(),
            _ => default_path(request_path),
        };
        let now = Instant::now();
        let expires = if let Some(age) = c.max_age() {
            // Max-Age wins over Expires; 0 or less deletes.
            let secs = age.whole_seconds();
            Some(if secs <= 0 {
                now
            } else {
                now.checked_add(Duration::from_secs(secs as u64))
                    .unwrap_or(now + Duration::from_secs(86_400 * 365 * 100))
            })
        } else if let Some(at) = c.expires_datetime() {
            let at = SystemTime::from(at);
            Some(match at.duration_since(SystemTime::now()) {
                Ok(left) => now
                    .checked_add(left)
                    .unwrap_or(now + Duration::from_secs(86_400 * 365 * 100)),
                Err(_) => now,
            })
        } else {
            None
        };
        self.jar
            .retain(|k| !(k.name == c.name() && k.domain == domain && k.path == path));
        if expires.is_some_and(|e| e <= now) {
            return;
        }
        if self.jar.len() >= MAX_COOKIES {
            self.jar.remove(0);
        }
        self.jar.push(Cookie {
            name: c.name().to_string(),
            value: c.value().to_string(),
            domain,
            host_only,
            path,
            expires,
            secure: c.secure().unwrap_or(false),
        });
    }
}

/// Whether `host` names this machine: `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn domain_matches(c: &Cookie, host: &str) -> bool {
    if c.host_only {
        return c.domain.eq_ignore_ascii_case(host);
    }
    let host = host.to_ascii_lowercase();
    host == c.domain || host.ends_with(&format!(".{}", c.domain))
}

/// RFC 6265, section 5.1.4: the directory of the request's path.
fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

/// RFC 6265, section 5.1.4: whether `request` is within `cookie`'s path.
fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request.as_bytes().get(cookie.len()) == Some(&b'/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_find_what_they_name_without_building_the_document() {
        let body = br#"{"a": 1, "token": "t-1", "orders": [{"id": 7}, {"id": "x"}], "n": null, "o": {"k": [1, 2]}}"#;
        let find = |p: &str| JsonPath::parse(p).unwrap().find(body).unwrap();
        assert_eq!(find("$.token").as_deref(), Some("t-1"));
        assert_eq!(find("$.orders[0].id").as_deref(), Some("7"));
        assert_eq!(find("$['orders'][1]['id']").as_deref(), Some("x"));
        assert_eq!(find("$.o").as_deref(), Some(r#"{"k":[1,2]}"#));
        assert_eq!(find("$.orders[5].id"), None);
        assert_eq!(find("$.n"), None);
        assert_eq!(find("$.a.b"), None);
        assert_eq!(find("$.missing"), None);
        assert!(
            JsonPath::parse("$.token")
                .unwrap()
                .find(b"not json")
                .is_err()
        );
        assert!(
            JsonPath::parse("$.token")
                .unwrap()
                .find(br#"{"token": "a"} x"#)
                .is_err()
        );
        for bad in ["token", "$.", "$[x]", "$[0", "$..a", "$.*", "$a"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            JsonPath::parse("$.orders[0].id").unwrap().to_string(),
            "$.orders[0].id"
        );
    }

    #[test]
    fn sources_need_a_known_prefix_and_a_capture_group() {
        assert!(matches!(Source::parse("header:ETag"), Ok(Source::Header(h)) if h == "etag"));
        assert!(matches!(Source::parse("json:$.a"), Ok(Source::Json(_))));
        assert!(matches!(
            Source::parse("regex:id=(\\d+)"),
            Ok(Source::Regex(_))
        ));
        let e = Source::parse("regex:id=\\d+").unwrap_err();
        assert!(e.contains("no capture group"), "{e}");
        let e = Source::parse("xpath://a").unwrap_err();
        assert!(e.contains("unknown extraction source \"xpath\""), "{e}");
        let e = Source::parse("regex:(").unwrap_err();
        assert!(e.contains("does not parse"), "{e}");
        assert!(Source::parse("header:bad name").is_err());
        assert!(Source::parse("token").is_err());
    }

    #[test]
    fn the_jar_keeps_what_applies_and_sends_it_where_it_belongs() {
        let url = |path: &str| Template::text(format!("http://shop.test:8080{path}"));
        let request = |path: &str| FlowRequest {
            url: url(path),
            headers: Vec::new(),
            body: Template::text(""),
            body_contains: None,
            extract: Vec::new(),
        };
        let flow = Arc::new(Flow {
            names: Vec::new(),
            requests: vec![
                request("/login"),
                request("/cart/items"),
                request("/orders"),
            ],
            data: None,
            cookies: true,
        });
        let specs: Vec<RequestSpec> = ["/login", "/cart/items", "/orders"]
            .iter()
            .map(|p| RequestSpec::get(parse_url(&format!("http://shop.test:8080{p}")).unwrap()))
            .collect();
        let mut vu = flow.user(0, &specs);
        vu.render(0, &specs[0]).unwrap();
        for c in [
            "session=s1; Path=/; Max-Age=600",
            "cart=c1; Path=/cart",
            "secure=x; Secure",
            "elsewhere=x; Domain=other.test",
            "sub=x; Domain=.test",
            "old=x; Max-Age=0",
            "gone=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "not a cookie",
        ] {
            vu.catch.header("Set-Cookie", c.as_bytes());
        }
        let mut ok = Ok((
            Response {
                status: 200,
                bytes: 0,
                checks_passed: true,
                close: false,
            },
            0,
        ));
        assert!(vu.after(0, &mut ok).abandoned.is_none());
        let cookie_line = |vu: &mut Vu, which: usize| {
            let bytes = vu.render(which, &specs[which]).unwrap().bytes.clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("Cookie: ").map(str::to_string))
                .unwrap_or_default()
        };
        assert_eq!(cookie_line(&mut vu, 1), "session=s1; cart=c1; sub=x");
        assert_eq!(cookie_line(&mut vu, 2), "session=s1; sub=x");
        // A new iteration starts with an empty jar, as k6's do.
        assert_eq!(cookie_line(&mut vu, 0), "");
    }

    #[test]
    fn this_machine_counts_as_secure() {
        assert!(is_loopback("127.0.0.1") && is_loopback("127.9.9.9"));
        assert!(is_loopback("[::1]") && is_loopback("LocalHost"));
        assert!(!is_loopback("shop.test") && !is_loopback("198.18.0.2"));
    }

    #[test]
    fn cookie_paths_follow_rfc_6265() {
        assert_eq!(default_path("/a/b/c"), "/a/b");
        assert_eq!(default_path("/a"), "/");
        assert!(path_matches("/cart/items", "/cart"));
        assert!(path_matches("/cart", "/cart"));
        assert!(path_matches("/cart/", "/cart/"));
        assert!(!path_matches("/cartoon", "/cart"));
        assert!(!path_matches("/", "/cart"));
    }
}
