//! Layered configuration, one precedence for every setting:
//!
//! 1. a flag on the command line,
//! 2. its `SCIM_*` environment variable,
//! 3. its key in the TOML file named by `--config` / `SCIM_CONFIG`,
//! 4. the built-in default.
//!
//! The settings are exactly the flags that have an environment variable (the global flags
//! and `serve`'s); their clap definitions are the one source of names, defaults, checks and
//! documentation. The file's values become the flags' defaults before the command line is
//! parsed, so a file value is checked exactly as the same flag would be.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "SCIM_CONFIG";

/// The subcommands that take `serve`'s settings.
const SERVE_PATHS: [&[&str]; 2] = [&["serve"], &["config", "check"]];

/// One setting: a flag with an environment variable, and maybe a key in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The flag's id in the parsed command.
    pub id: String,
    /// The flag's long name, which is also the file's key.
    pub name: String,
    pub env: String,
    pub default: Option<String>,
    pub help: String,
    /// Whether it is a global flag (else one of `serve`'s).
    pub global: bool,
}

/// Every setting, global ones first, in the order `--help` shows them.
pub fn settings() -> Vec<Setting> {
    let command = Cli::command();
    let global = command.get_arguments().map(|arg| (arg, true));
    let serve = command
        .find_subcommand("serve")
        .into_iter()
        .flat_map(|serve| serve.get_arguments().map(|arg| (arg, false)));
    global
        .chain(serve)
        .filter(|(arg, _)| arg.get_id() != "config")
        .filter_map(|(arg, global)| {
            Some(Setting {
                id: arg.get_id().to_string(),
                name: arg.get_long()?.to_owned(),
                env: arg.get_env()?.to_string_lossy().into_owned(),
                default: arg
                    .get_default_values()
                    .first()
                    .map(|v| v.to_string_lossy().into_owned()),
                help: arg
                    .get_help()
                    .map(|help| help.to_string().replace('\n', " "))
                    .unwrap_or_default(),
                global,
            })
        })
        .collect()
}

/// What the command line, the environment and the file say: the parsed command, and
/// where each setting's value came from.
pub struct Loaded {
    pub cli: Cli,
    pub file: Option<PathBuf>,
    /// The settings the file gave a value to.
    pub from_file: BTreeMap<String, String>,
    matches: ArgMatches,
}

/// Parses the process's command line with the environment and the configuration file.
/// Exits with clap's message (and status 2) on a usage error, as clap would.
pub fn load() -> anyhow::Result<Loaded> {
    load_from(std::env::args_os().collect(), std::env::var_os(CONFIG_ENV))
}

/// [`load`] with the arguments and `SCIM_CONFIG` given (the other variables are read from
/// the process's environment by clap).
pub fn load_from(args: Vec<OsString>, config_env: Option<OsString>) -> anyhow::Result<Loaded> {
    let file = config_path(&args).or_else(|| config_env.map(PathBuf::from));
    let from_file = match &file {
        Some(path) => read_file(path)?,
        None => BTreeMap::new(),
    };
    let mut command = Cli::command();
    for setting in settings() {
        let Some(value) = from_file.get(&setting.name).cloned() else {
            continue;
        };
        // `--help` shows defaults: a value the file gives a secret must not show there.
        let hide = mask(&setting.name, &value) != value;
        let set = |arg: clap::Arg| arg.default_value(value.clone()).hide_default_value(hide);
        if setting.global {
            command = command.mut_arg(&setting.id, set);
        } else {
            for path in SERVE_PATHS {
                command = with_subcommand(command, path, &|sub| sub.mut_arg(&setting.id, set));
            }
        }
    }
    let matches = command
        .try_get_matches_from(args)
        .unwrap_or_else(|error| error.exit());
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    Ok(Loaded {
        cli,
        file,
        from_file,
        matches,
    })
}

fn with_subcommand(
    command: clap::Command,
    path: &[&str],
    change: &dyn Fn(clap::Command) -> clap::Command,
) -> clap::Command {
    match path.split_first() {
        None => change(command),
        Some((first, rest)) => {
            command.mut_subcommand(*first, |sub| with_subcommand(sub, rest, change))
        }
    }
}

/// `--config PATH` or `--config=PATH`, wherever it is on the command line.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

/// The file's settings as flag values. Unknown keys and values that are not a string, a
/// number or a boolean are refused, naming the key.
fn read_file(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    parse_file(&text).with_context(|| format!("in the configuration file {}", path.display()))
}

fn parse_file(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let known = settings();
    let mut values = BTreeMap::new();
    for (key, value) in table {
        if !known.iter().any(|s| s.name == key) {
            let hint = known
                .iter()
                .find(|s| s.name.replace('-', "_") == key)
                .map(|s| format!(" (did you mean `{}`?)", s.name))
                .unwrap_or_default();
            bail!(
                "unknown setting `{key}`{hint}; the settings are: {}",
                known
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => bail!(
                "`{key}` must be a string, a number or a boolean, not {}",
                other.type_str()
            ),
        };
        values.insert(key, value);
    }
    Ok(values)
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env(String),
    File(PathBuf),
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(name) => write!(f, "env {name}"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A setting's effective value, secrets masked, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub name: String,
    /// `None` when unset (an optional setting).
    pub value: Option<String>,
    pub source: Source,
}

impl Loaded {
    /// Every setting's effective value for `config check` (whose matches carry `serve`'s
    /// settings), secrets masked.
    pub fn effective(&self) -> Vec<Effective> {
        let check = self
            .matches
            .subcommand_matches("config")
            .and_then(|config| config.subcommand_matches("check"));
        settings()
            .into_iter()
            .map(|setting| {
                let matches = if setting.global {
                    &self.matches
                } else {
                    check.unwrap_or(&self.matches)
                };
                let id = setting.id.as_str();
                let value = matches
                    .try_get_raw(id)
                    .ok()
                    .flatten()
                    .map(|values| {
                        values
                            .map(|v| v.to_string_lossy().into_owned())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .map(|value| mask(&setting.name, &value));
                let source = match matches.value_source(id) {
                    Some(ValueSource::CommandLine) => Source::Flag,
                    Some(ValueSource::EnvVariable) => Source::Env(setting.env.clone()),
                    _ if self.from_file.contains_key(&setting.name) => {
                        Source::File(self.file.clone().unwrap_or_default())
                    }
                    _ => Source::Default,
                };
                Effective {
                    name: setting.name,
                    value,
                    source,
                }
            })
            .collect()
    }
}

/// A value as it may be shown: a database URL without its password, secrets as `***`.
fn mask(name: &str, value: &str) -> String {
    if name == "database-url" {
        crate::wiring::redact_url(value)
    } else if name.contains("secret") || name.contains("password") || name.contains("token") {
        "***".to_owned()
    } else {
        value.to_owned()
    }
}

/// The settings as the Markdown table of docs/configuration.md.
pub fn reference() -> String {
    let mut out = String::from(
        "| setting (file key and flag) | environment | default | what it does |\n|---|---|---|---|\n",
    );
    for setting in settings() {
        let default = setting
            .default
            .map_or_else(|| "—".to_owned(), |d| format!("`{d}`"));
        let scope = if setting.global { "" } else { " (`serve`)" };
        out.push_str(&format!(
            "| `{}`{scope} | `{}` | {default} | {} |\n",
            setting.name,
            setting.env,
            setting.help.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scim.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn value(loaded: &Loaded, name: &str) -> Effective {
        loaded
            .effective()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap()
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let (_dir, path) = file(
            "listen = \"0.0.0.0:9000\"\nrate-limit = 50\npool-size = 4\n\
             database-url = \"postgres://scim:hunter2@db/scim\"\nworkers = 3\n",
        );
        let path_text = path.to_string_lossy().into_owned();
        let loaded = load_from(
            args(&[
                "scim-server",
                "--config",
                &path_text,
                "config",
                "check",
                "--workers",
                "5",
            ]),
            None,
        )
        .unwrap();
        let cases = [
            ("workers", Some("5"), Source::Flag),
            ("rate-limit", Some("50"), Source::File(path.clone())),
            ("listen", Some("0.0.0.0:9000"), Source::File(path.clone())),
            ("pool-size", Some("4"), Source::File(path.clone())),
            (
                "database-url",
                Some("postgres://scim:***@db/scim"),
                Source::File(path.clone()),
            ),
            ("rate-burst", Some("400"), Source::Default),
            ("public-url", None, Source::Default),
        ];
        for (name, shown, source) in cases {
            let effective = value(&loaded, name);
            assert_eq!(effective.value.as_deref(), shown, "{name}");
            assert_eq!(effective.source, source, "{name}");
        }
        assert_eq!(loaded.cli.pool_size, 4);
    }

    #[test]
    fn the_file_configures_serve_as_it_does_config_check() {
        let (_dir, path) = file("listen = \"127.0.0.1:7000\"\nlog-format = \"json\"\n");
        let loaded = load_from(
            args(&["scim-server", "serve"]),
            Some(path.clone().into_os_string()),
        )
        .unwrap();
        let crate::cli::Command::Serve(serve) = &loaded.cli.command else {
            panic!("serve");
        };
        assert_eq!(serve.listen, "127.0.0.1:7000");
        assert_eq!(loaded.cli.log_format, crate::cli::LogFormat::Json);
    }

    #[test]
    fn bad_files_are_refused_naming_the_key() {
        let cases = [
            ("listne = \"x\"", "unknown setting `listne`"),
            ("rate_limit = 3", "did you mean `rate-limit`?"),
            (
                "listen = [1, 2]",
                "`listen` must be a string, a number or a boolean",
            ),
            ("listen = ", "not valid TOML"),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", parse_file(text).unwrap_err());
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn every_setting_has_an_environment_variable_and_help() {
        let settings = settings();
        assert!(settings.len() > 20, "{settings:?}");
        for setting in &settings {
            assert!(setting.env.starts_with("SCIM_"), "{setting:?}");
            assert!(!setting.help.is_empty(), "{setting:?} needs a help text");
        }
        assert!(
            settings
                .iter()
                .any(|s| s.name == "database-url" && s.global)
        );
        assert!(settings.iter().any(|s| s.name == "listen" && !s.global));
    }

    #[test]
    fn docs_configuration_md_holds_the_current_reference() {
        let docs = include_str!("../../../docs/configuration.md");
        assert!(
            docs.contains(&reference()),
            "docs/configuration.md is out of date: paste `scim-server config reference` \
             into it:\n{}",
            reference()
        );
    }
}
