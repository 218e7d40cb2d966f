//! perfhub results as tasks: budget breaches and regressions become to-dos
//! in the tools people plan their week with.
//!
//! Every format reads the same [`Task`]s, made by [`tasks`] from one or
//! more [`perfhub_core::Report`]s: one per budget verdict that did not pass
//! and one per comparison whose verdict is `regressed`. A task's UUID is
//! derived from its kind, benchmark, metric, budget statistic and git
//! commit ([`task_uuid`]), so exporting again updates tasks instead of
//! duplicating them; its dates come from the report's `created`, so the
//! same reports always give the same bytes.
//!
//! - [`ical_todos`]: an iCalendar (RFC 5545) `VCALENDAR` of `VTODO`s;
//! - [`taskwarrior_json`]: a JSON array for `task import`;
//! - [`todo_txt`]: todo.txt lines with an `id:` key;
//! - [`weekly_review`]: a Markdown weekly performance review of a week's
//!   reports: a task list, budgets, trends and the Performance Score.
//!
//! Nothing here prints or touches files: each function returns the text.
#![deny(missing_docs)]

mod error;
pub mod ical;
pub mod review;
mod task;
pub mod taskwarrior;
mod time;
pub mod todotxt;

pub use error::Error;
pub use ical::ical_todos;
pub use review::weekly_review;
pub use task::{Priority, Task, TaskKind, TaskOptions, task_uuid, tasks};
pub use taskwarrior::taskwarrior_json;
pub use todotxt::todo_txt;
