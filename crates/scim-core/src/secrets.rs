//! The server's secret keys (kept outside the database) and what they seal: secrets at rest
//! and list cursors. Standard cryptography only, from `ring`: ChaCha20-Poly1305 (an AEAD)
//! under keys derived with HKDF-SHA-256, one per purpose, from keys of 256 random bits.
//!
//! - A key ring holds one or more keys; the first seals, every one opens (rotation: put
//!   the new key first, re-seal, then drop the old one; see docs/security.md).
//! - A key's id is the first 8 hex digits of its SHA-256: what a sealed value names, so
//!   the right key opens it and a missing one is named.
//! - A sealed value is bound to where it belongs (its AEAD associated data), so one moved
//!   to another row, column or purpose does not open.
//!
//! The text form of a secret at rest is `sealed:v1:<key id>:<base64url(nonce ‖ ciphertext
//! ‖ tag)>`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{self, HKDF_SHA256, Salt};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

/// What every secret at rest starts with.
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// Bytes of a key.
pub const KEY_BYTES: usize = 32;

/// What keys are derived for: each purpose has keys of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// Secrets the server must use, stored in the database.
    AtRest,
    /// List cursors (RFC 9865).
    Cursors,
}

impl Purpose {
    fn info(self) -> &'static [u8] {
        match self {
            Self::AtRest => b"scim-license at-rest v1",
            Self::Cursors => b"scim-license cursors v1",
        }
    }
}

/// One key of the ring.
#[derive(Clone)]
struct SecretKey {
    id: String,
    bytes: [u8; KEY_BYTES],
}

/// The server's keys, the first of which seals.
#[derive(Clone)]
pub struct SecretKeys {
    keys: Vec<SecretKey>,
}

/// Never shows a key, only the ids.
impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeys")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for SecretKeys {
    fn eq(&self, other: &Self) -> bool {
        self.ids().eq(other.ids())
    }
}

impl Eq for SecretKeys {}

/// Why a key ring's text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// The text holds no key.
    #[error("no secret key is given")]
    Empty,
    /// The key at this place in the text (from 1) is not base64.
    #[error("secret key {0} is not base64")]
    NotBase64(usize),
    /// A key does not decode to [`KEY_BYTES`] bytes.
    #[error("secret key {position} has {bytes} bytes; a key has {KEY_BYTES} (256 random bits)")]
    WrongLength {
        /// The key's place in the text, from 1.
        position: usize,
        /// How many bytes it decodes to.
        bytes: usize,
    },
    /// The key with this id is in the text twice.
    #[error("secret key {0} is given twice")]
    Duplicate(String),
}

/// Why a sealed value does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The value is not `sealed:v1:<key id>:<base64url>`.
    #[error("not a sealed value")]
    Malformed,
    /// Sealed under the key with this id, which the ring does not hold.
    #[error(
        "sealed with secret key {0}, which is not among the configured keys (--secret-keys / \
         --secret-key-file)"
    )]
    UnknownKey(String),
    /// The AEAD refused it: the value was altered, or sealed for another context.
    #[error("the sealed value does not open: altered, or moved from where it was sealed")]
    Tampered,
}

impl SecretKeys {
    /// Keys from text: base64 (standard or URL-safe, padded or not) of 32 bytes each,
    /// separated by newlines, commas or spaces; `#` starts a comment to the end of its
    /// line. The first key seals.
    pub fn parse(text: &str) -> Result<Self, KeysError> {
        let mut keys: Vec<SecretKey> = Vec::new();
        let words = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default())
            .flat_map(|line| line.split([',', ' ', '\t']))
            .map(str::trim)
            .filter(|word| !word.is_empty());
        for (index, word) in words.enumerate() {
            let position = index + 1;
            let bytes = STANDARD
                .decode(word)
                .or_else(|_| URL_SAFE_NO_PAD.decode(word.trim_end_matches('=')))
                .map_err(|_| KeysError::NotBase64(position))?;
            let bytes: [u8; KEY_BYTES] =
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeysError::WrongLength {
                        position,
                        bytes: bytes.len(),
                    })?;
            let key = SecretKey::new(bytes);
            if keys.iter().any(|k| k.id == key.id) {
                return Err(KeysError::Duplicate(key.id));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(KeysError::Empty);
        }
        Ok(Self { keys })
    }

    /// A ring of one new random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        // The system's random source does not fail on the platforms ring supports.
        if SystemRandom::new().fill(&mut bytes).is_err() {
            panic!("the system's random number generator failed");
        }
        Self {
            keys: vec![SecretKey::new(bytes)],
        }
    }

    /// The sealing key as a key file's line would hold it (base64).
    pub fn primary_text(&self) -> String {
        STANDARD.encode(self.primary().bytes)
    }

    /// The id of the key that seals.
    pub fn primary_id(&self) -> &str {
        &self.primary().id
    }

    /// Every key's id, the sealing one first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.id.as_str())
    }

    fn primary(&self) -> &SecretKey {
        // `parse` and `generate` never make an empty ring.
        &self.keys[0]
    }

    /// The sealer of `purpose` under the sealing key.
    pub fn sealer(&self, purpose: Purpose) -> Sealer {
        self.primary().sealer(purpose)
    }

    /// The sealer of `purpose` under the key `id`, if the ring holds it.
    pub fn sealer_of(&self, id: &str, purpose: Purpose) -> Option<Sealer> {
        self.keys
            .iter()
            .find(|key| key.id == id)
            .map(|key| key.sealer(purpose))
    }

    /// A secret at rest: `text` sealed under the sealing key, bound to `context` (where
    /// it is kept, e.g. `receivers.secret:<id>`).
    pub fn seal_text(&self, text: &str, context: &str) -> String {
        let sealer = self.sealer(Purpose::AtRest);
        let sealed = sealer.seal(text.as_bytes(), context.as_bytes());
        format!(
            "{SEALED_PREFIX}{}:{}",
            sealer.id(),
            URL_SAFE_NO_PAD.encode(sealed)
        )
    }

    /// The secret a [`seal_text`](Self::seal_text) value holds, if it was sealed for
    /// `context` under a key of the ring.
    pub fn open_text(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        let id = sealed_key_id(sealed).ok_or(OpenError::Malformed)?;
        let body = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, body)| body)
            .ok_or(OpenError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| OpenError::Malformed)?;
        let sealer = self
            .sealer_of(id, Purpose::AtRest)
            .ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let opened = sealer
            .open(&bytes, context.as_bytes())
            .ok_or(OpenError::Tampered)?;
        String::from_utf8(opened).map_err(|_| OpenError::Tampered)
    }
}

/// The id of the key a secret at rest was sealed under; `None` when it is not sealed
/// (a value stored before secrets were sealed).
pub fn sealed_key_id(value: &str) -> Option<&str> {
    let (id, _) = value.strip_prefix(SEALED_PREFIX)?.split_once(':')?;
    Some(id)
}

impl SecretKey {
    fn new(bytes: [u8; KEY_BYTES]) -> Self {
        let digest = Sha256::digest(bytes);
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Self { id, bytes }
    }

    fn sealer(&self, purpose: Purpose) -> Sealer {
        let prk = Salt::new(HKDF_SHA256, b"scim-license").extract(&self.bytes);
        let mut derived = [0u8; KEY_BYTES];
        // HKDF-Expand to 32 bytes cannot fail (the limit is 255 × 32).
        let expanded = prk
            .expand(&[purpose.info()], Len32)
            .and_then(|okm| okm.fill(&mut derived));
        if expanded.is_err() {
            unreachable!("HKDF-SHA-256 expands to 32 bytes");
        }
        let key = UnboundKey::new(&CHACHA20_POLY1305, &derived)
            .map(LessSafeKey::new)
            .unwrap_or_else(|_| unreachable!("a ChaCha20-Poly1305 key is 32 bytes"));
        Sealer {
            id: self.id.clone(),
            key,
        }
    }
}

/// HKDF's output length for a 32-byte key.
struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        KEY_BYTES
    }
}

/// Seals and opens under one derived key.
pub struct Sealer {
    id: String,
    key: LessSafeKey,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer").field("id", &self.id).finish()
    }
}

impl Sealer {
    /// The id of the key it derives from.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `plaintext` sealed and bound to `aad`: a random nonce, the ciphertext, the tag.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        if SystemRandom::new().fill(&mut nonce).is_err() {
            panic!("the system's random number generator failed");
        }
        let mut sealed =
            Vec::with_capacity(NONCE_LEN + plaintext.len() + CHACHA20_POLY1305.tag_len());
        sealed.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        // Sealing fails only for inputs of more than 256 GiB.
        if self
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .is_err()
        {
            unreachable!("a sealed value is far below ChaCha20-Poly1305's limit");
        }
        sealed.extend_from_slice(&body);
        sealed
    }

    /// What [`seal`](Self::seal) sealed with this key for `aad`; `None` for anything else.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + CHACHA20_POLY1305.tag_len() {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let opened = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .ok()?;
        Some(opened.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_of(texts: &[&str]) -> SecretKeys {
        SecretKeys::parse(&texts.join("\n")).unwrap()
    }

    #[test]
    fn rings_parse_from_base64_and_refuse_what_is_no_key() {
        let a = SecretKeys::generate().primary_text();
        let b = SecretKeys::generate().primary_text();
        let ring = SecretKeys::parse(&format!("# keys\n{a}\n\n{b}  # the old one\n")).unwrap();
        assert_eq!(ring.ids().count(), 2);
        assert_eq!(ring.primary_text(), a, "the first seals");
        let url_safe = URL_SAFE_NO_PAD.encode(STANDARD.decode(&a).unwrap());
        assert_eq!(SecretKeys::parse(&format!("{url_safe},{b}")).unwrap(), ring);
        let cases = [
            ("", KeysError::Empty),
            ("# nothing\n", KeysError::Empty),
            ("not*base64", KeysError::NotBase64(1)),
            (
                &format!("{a} {}", STANDARD.encode([1u8; 16])),
                KeysError::WrongLength {
                    position: 2,
                    bytes: 16,
                },
            ),
            (
                &format!("{a}\n{a}"),
                KeysError::Duplicate(ring.primary_id().to_owned()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(SecretKeys::parse(text), Err(expected), "{text}");
        }
        assert!(!format!("{ring:?}").contains(&a), "Debug shows ids only");
    }

    #[test]
    fn secrets_at_rest_open_with_any_key_of_the_ring_where_they_were_sealed() {
        let (old, new) = (SecretKeys::generate(), SecretKeys::generate());
        let sealed = old.seal_text("hunter2", "receivers.secret:r1");
        assert!(sealed.starts_with(&format!("{SEALED_PREFIX}{}:", old.primary_id())));
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            old.seal_text("hunter2", "receivers.secret:r1"),
            "random nonces"
        );
        assert_eq!(
            old.open_text(&sealed, "receivers.secret:r1").unwrap(),
            "hunter2"
        );
        // After a rotation the old key still opens it; the new one seals.
        let rotated = ring_of(&[&new.primary_text(), &old.primary_text()]);
        assert_eq!(
            rotated.open_text(&sealed, "receivers.secret:r1").unwrap(),
            "hunter2"
        );
        assert_eq!(
            sealed_key_id(&rotated.seal_text("x", "c")),
            Some(new.primary_id())
        );
        // Without the key, moved elsewhere, or altered: it does not open.
        assert_eq!(
            new.open_text(&sealed, "receivers.secret:r1"),
            Err(OpenError::UnknownKey(old.primary_id().to_owned()))
        );
        assert_eq!(
            old.open_text(&sealed, "receivers.secret:r2"),
            Err(OpenError::Tampered)
        );
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(
            old.open_text(&altered, "receivers.secret:r1"),
            Err(OpenError::Tampered)
        );
        assert_eq!(old.open_text("hunter2", "c"), Err(OpenError::Malformed));
        assert_eq!(sealed_key_id("plain text"), None);
    }

    #[test]
    fn purposes_have_keys_of_their_own() {
        let ring = SecretKeys::generate();
        let cursor = ring.sealer(Purpose::Cursors).seal(b"position", b"scope");
        assert_eq!(
            ring.sealer(Purpose::Cursors)
                .open(&cursor, b"scope")
                .as_deref(),
            Some(b"position".as_slice())
        );
        assert_eq!(ring.sealer(Purpose::AtRest).open(&cursor, b"scope"), None);
        assert_eq!(ring.sealer(Purpose::Cursors).open(&cursor, b"other"), None);
        assert_eq!(
            ring.sealer(Purpose::Cursors).open(&cursor[..10], b"scope"),
            None
        );
    }
}
