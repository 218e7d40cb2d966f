//! Settings named in error messages.
//!
//! A library's configuration error names the settings at fault by their
//! names in its `Config` (and in scenario and plan files), in backquotes:
//! "`` `rounds` `` (1) is too few". [`ConfigError`] keeps the list of those
//! names beside the message, so that a front end can name them its own way:
//! the `perfhub` command by its flags (`--rounds`).

/// Settings that are out of range or do not go together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// What is wrong, and how to set it right.
    pub message: String,
    /// The settings the message names, each in backquotes, in its order.
    pub settings: Vec<&'static str>,
}

impl ConfigError {
    /// An error that names no setting.
    pub fn new(message: impl Into<String>) -> ConfigError {
        ConfigError {
            message: message.into(),
            settings: Vec::new(),
        }
    }

    /// An error whose message `message(names)` names `settings`, given
    /// their names in backquotes in the same order.
    pub fn naming(
        settings: &[&'static str],
        message: impl FnOnce(&[String]) -> String,
    ) -> ConfigError {
        let names: Vec<String> = settings.iter().map(|s| format!("`{s}`")).collect();
        ConfigError {
            message: message(&names),
            settings: settings.to_vec(),
        }
    }
}

/// `text` with each of `settings` named in backquotes written as
/// `name(setting)` instead: how a front end puts its own names for the
/// settings into a message or a note.
pub fn rename(text: &str, settings: &[&str], name: impl Fn(&str) -> String) -> String {
    settings.iter().fold(text.to_string(), |text, s| {
        text.replace(&format!("`{s}`"), &name(s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_settings_in_backquotes_and_renames_them() {
        let e = ConfigError::naming(&["rounds", "time_budget"], |n| {
            format!("{} or {} is needed", n[0], n[1])
        });
        assert_eq!(e.to_string(), "`rounds` or `time_budget` is needed");
        let flag = |s: &str| format!("--{}", s.replace('_', "-"));
        assert_eq!(
            rename(&e.message, &e.settings, flag),
            "--rounds or --time-budget is needed"
        );
    }
}
