//! Secrets at rest: the values the server must be able to use, not just check (the SET
//! signing keys' private keys, receivers' HS256 secrets and OAuth client secrets), are
//! stored sealed with the server's secret keys ([`scim_core::secrets`]), which are kept
//! outside the database. Each is bound to its row and column, so a sealed value copied
//! elsewhere does not open. Tokens and client secrets need no sealing: they are stored as
//! hashes.
//!
//! When the store opens it checks that every stored secret was sealed under a key it was
//! given (refusing to open otherwise, naming the missing key ids), and seals the values
//! stored before secrets were sealed. [`DieselStore::reseal_secrets`] re-seals every value
//! under the sealing key, the middle step of a key rotation.

use diesel::prelude::*;
use scim_core::StoreError;
use scim_core::secrets::{OpenError, SecretKeys, sealed_key_id};

use crate::connection::DbConnection;
use crate::errors::from_diesel;
use crate::schema::{receivers, signing_keys};
use crate::store::DieselStore;

/// Where a secret is kept: what it is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    SigningKey,
    ReceiverSecret,
    ReceiverClientSecret,
}

impl Place {
    /// The sealed value's associated data: its column and its row's key.
    fn context(self, row: &str) -> String {
        let column = match self {
            Self::SigningKey => "signing_keys.private_key",
            Self::ReceiverSecret => "receivers.secret",
            Self::ReceiverClientSecret => "receivers.client_secret",
        };
        format!("{column}:{row}")
    }
}

/// Why a store does not open with the keys it was given.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "the database holds secrets sealed with secret key(s) {missing:?}, which are not among \
         the configured keys {configured:?}: configure the keys this database was used with \
         (--secret-keys or --secret-key-file; every process on one database needs the same)"
    )]
    MissingKeys {
        missing: Vec<String>,
        configured: Vec<String>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `value` sealed for `place` of `row`.
pub(crate) fn seal(keys: &SecretKeys, place: Place, row: &str, value: &str) -> String {
    keys.seal_text(value, &place.context(row))
}

/// The secret a stored value of `place` of `row` holds (a value stored before sealing is
/// the secret itself, until the store seals it).
pub(crate) fn open(
    keys: &SecretKeys,
    place: Place,
    row: &str,
    stored: &str,
) -> Result<String, StoreError> {
    if sealed_key_id(stored).is_none() {
        return Ok(stored.to_owned());
    }
    keys.open_text(stored, &place.context(row))
        .map_err(|error: OpenError| StoreError::corrupt(format!("{place:?} of {row}: {error}")))
}

/// Every stored secret: where it is, its row, its stored value.
fn stored_secrets(
    connection: &mut DbConnection,
) -> Result<Vec<(Place, String, String)>, StoreError> {
    let mut out = Vec::new();
    let keys: Vec<(String, String)> = signing_keys::table
        .select((signing_keys::kid, signing_keys::private_key))
        .load(connection)
        .map_err(from_diesel)?;
    out.extend(
        keys.into_iter()
            .map(|(kid, value)| (Place::SigningKey, kid, value)),
    );
    let receivers: Vec<(String, String, Option<String>)> = receivers::table
        .select((receivers::id, receivers::secret, receivers::client_secret))
        .load(connection)
        .map_err(from_diesel)?;
    for (id, secret, client_secret) in receivers {
        if let Some(client_secret) = client_secret {
            out.push((Place::ReceiverClientSecret, id.clone(), client_secret));
        }
        out.push((Place::ReceiverSecret, id, secret));
    }
    Ok(out)
}

fn store_secret(
    connection: &mut DbConnection,
    place: Place,
    row: &str,
    value: &str,
) -> QueryResult<usize> {
    match place {
        Place::SigningKey => diesel::update(signing_keys::table.find(row))
            .set(signing_keys::private_key.eq(value))
            .execute(connection),
        Place::ReceiverSecret => diesel::update(receivers::table.find(row))
            .set(receivers::secret.eq(value))
            .execute(connection),
        Place::ReceiverClientSecret => diesel::update(receivers::table.find(row))
            .set(receivers::client_secret.eq(value))
            .execute(connection),
    }
}

/// Checks that `keys` open every stored secret, and seals the ones stored in the clear.
pub(crate) fn check_and_seal(
    connection: &mut DbConnection,
    keys: &SecretKeys,
) -> Result<(), SealError> {
    let secrets = stored_secrets(connection)?;
    let mut missing: Vec<String> = secrets
        .iter()
        .filter_map(|(_, _, value)| sealed_key_id(value))
        .filter(|id| !keys.ids().any(|known| known == *id))
        .map(str::to_owned)
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        return Err(SealError::MissingKeys {
            missing,
            configured: keys.ids().map(str::to_owned).collect(),
        });
    }
    let plain: Vec<_> = secrets
        .iter()
        .filter(|(_, _, value)| sealed_key_id(value).is_none())
        .collect();
    if plain.is_empty() {
        return Ok(());
    }
    connection
        .transaction(|connection| {
            for (place, row, value) in &plain {
                store_secret(connection, *place, row, &seal(keys, *place, row, value))?;
            }
            QueryResult::Ok(())
        })
        .map_err(|error| SealError::Store(from_diesel(error)))?;
    tracing::info!(
        sealed = plain.len(),
        "sealed the secrets stored in the clear"
    );
    Ok(())
}

impl DieselStore {
    /// Seals every stored secret under the sealing key (the first of the ring) that is
    /// sealed under another: the middle step of a key rotation, after which the old key
    /// may go. Returns how many were re-sealed; the count is 0 when run again.
    pub async fn reseal_secrets(&self) -> Result<usize, StoreError> {
        let keys = self.keys();
        self.write(move |connection| {
            let mut resealed = 0;
            for (place, row, stored) in stored_secrets(connection)? {
                if sealed_key_id(&stored) == Some(keys.primary_id()) {
                    continue;
                }
                let secret = open(&keys, place, &row, &stored)?;
                store_secret(connection, place, &row, &seal(&keys, place, &row, &secret))
                    .map_err(from_diesel)?;
                resealed += 1;
            }
            Ok(resealed)
        })
        .await
    }

    /// How many stored secrets each key id seals (`None`: stored in the clear), for the
    /// operator's `secret-key status`.
    pub async fn sealed_secret_counts(&self) -> Result<Vec<(Option<String>, usize)>, StoreError> {
        self.run(|connection| {
            let mut counts: Vec<(Option<String>, usize)> = Vec::new();
            for (_, _, value) in stored_secrets(connection)? {
                let id = sealed_key_id(&value).map(str::to_owned);
                match counts.iter_mut().find(|(known, _)| *known == id) {
                    Some((_, count)) => *count += 1,
                    None => counts.push((id, 1)),
                }
            }
            counts.sort();
            Ok(counts)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Place; 3] = [
        Place::SigningKey,
        Place::ReceiverSecret,
        Place::ReceiverClientSecret,
    ];

    #[test]
    fn every_place_binds_its_row() {
        let keys = SecretKeys::generate();
        for place in ALL {
            let sealed = seal(&keys, place, "r1", "s3cret");
            assert_eq!(open(&keys, place, "r1", &sealed).unwrap(), "s3cret");
            assert!(open(&keys, place, "r2", &sealed).is_err(), "{place:?}");
            for other in ALL.into_iter().filter(|p| *p != place) {
                assert!(
                    open(&keys, other, "r1", &sealed).is_err(),
                    "{place:?} as {other:?}"
                );
            }
        }
        // A value stored in the clear (before sealing) reads as it is.
        assert_eq!(
            open(&keys, Place::ReceiverSecret, "r1", "plain").unwrap(),
            "plain"
        );
    }
}
