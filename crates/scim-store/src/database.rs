//! Which database a store opens, as chosen by its URL.

use std::fmt;

/// A database a store can open.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file; created when missing.
    Sqlite { path: String },
    /// A PostgreSQL database, as a `postgres://` or `postgresql://` URL.
    Postgres { url: String },
}

/// The URL schemes that select PostgreSQL.
const POSTGRES_SCHEMES: [&str; 2] = ["postgres://", "postgresql://"];

impl Database {
    /// Picks the backend from a database URL: `postgres://…` and `postgresql://…` select
    /// PostgreSQL; `sqlite://PATH`, `sqlite:PATH` and a bare path select SQLite.
    pub fn from_url(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(UrlError::Empty);
        }
        if POSTGRES_SCHEMES
            .iter()
            .any(|scheme| starts_with_ignore_ascii_case(url, scheme))
        {
            return Ok(Self::Postgres {
                url: url.to_owned(),
            });
        }
        let path = strip_prefix_ignore_ascii_case(url, "sqlite://")
            .or_else(|| strip_prefix_ignore_ascii_case(url, "sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(UrlError::NoPath);
        }
        if path == ":memory:" {
            // Every pooled connection would see its own empty database.
            return Err(UrlError::InMemory);
        }
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(UrlError::UnknownScheme(scheme.to_owned()));
        }
        Ok(Self::Sqlite {
            path: path.to_owned(),
        })
    }

    /// The backend's name, for messages.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "SQLite",
            Self::Postgres { .. } => "PostgreSQL",
        }
    }
}

/// Never prints a PostgreSQL URL, which may hold a password.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            Self::Postgres { .. } => f.debug_struct("Postgres").finish_non_exhaustive(),
        }
    }
}

/// A database URL no store accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the database URL is empty")]
    Empty,
    #[error("the SQLite URL names no file")]
    NoPath,
    #[error("an in-memory SQLite database is not supported: every connection would see its own")]
    InMemory,
    #[error(
        "unknown database URL scheme '{0}': use postgres://, postgresql://, sqlite:// or a path"
    )]
    UnknownScheme(String),
}

fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    strip_prefix_ignore_ascii_case(text, prefix).is_some()
}

fn strip_prefix_ignore_ascii_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(path: &str) -> Database {
        Database::Sqlite {
            path: path.to_owned(),
        }
    }

    #[test]
    fn picks_the_backend_from_the_url() {
        let cases = [
            ("sqlite://scim.db", sqlite("scim.db")),
            (
                "sqlite:///var/lib/scim/scim.db",
                sqlite("/var/lib/scim/scim.db"),
            ),
            ("sqlite:scim.db", sqlite("scim.db")),
            ("SQLITE://x.db", sqlite("x.db")),
            ("scim.db", sqlite("scim.db")),
            ("./data/scim.db", sqlite("./data/scim.db")),
            ("/tmp/scim.db", sqlite("/tmp/scim.db")),
            (
                "postgres://u:p@localhost/scim",
                Database::Postgres {
                    url: "postgres://u:p@localhost/scim".into(),
                },
            ),
            (
                "postgresql://localhost/scim",
                Database::Postgres {
                    url: "postgresql://localhost/scim".into(),
                },
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(Database::from_url(url), Ok(expected), "{url}");
        }
    }

    #[test]
    fn rejects_what_no_store_opens() {
        let cases = [
            ("", UrlError::Empty),
            ("  ", UrlError::Empty),
            ("sqlite://", UrlError::NoPath),
            ("sqlite::memory:", UrlError::InMemory),
            (":memory:", UrlError::InMemory),
            (
                "mysql://localhost/db",
                UrlError::UnknownScheme("mysql".into()),
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(Database::from_url(url), Err(expected), "{url:?}");
        }
    }

    #[test]
    fn debug_hides_postgres_credentials() {
        let database = Database::from_url("postgres://user:secret@db/scim").unwrap();
        assert!(!format!("{database:?}").contains("secret"));
    }
}
