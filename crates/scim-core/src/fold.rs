//! Case-insensitive comparison keys: Unicode NFC plus full case folding.
//!
//! Every caseExact=false comparison (filters, uniqueness, sorting) goes through
//! [`fold_key`], computed here in the core so that both stores agree; SQLite's `lower()`
//! knows ASCII only. Full folding (Unicode `CaseFolding.txt`, statuses C and F, without the
//! Turkic T mappings) means:
//! - `ß` folds to `ss`, so `straße` and `STRASSE` are the same userName;
//! - `ǅ` (U+01C5), `Ǆ` and `ǆ` all fold to `ǆ`;
//! - `İ` (U+0130, capital I with dot) folds to `i̇` (`i` + U+0307), which is NOT `i`;
//!   dotless `ı` (U+0131) folds to itself, and `I` folds to `i`: the Turkish pairs are kept
//!   apart rather than guessed, since the locale of a userName is unknown.

use unicode_normalization::UnicodeNormalization;

/// The comparison key of a caseExact=false string.
pub fn fold_key(text: &str) -> String {
    let nfc: String = text.nfc().collect();
    caseless::default_case_fold_str(&nfc).nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::fold_key;

    #[test]
    fn folds_as_documented() {
        let same = [
            ("Straße", "STRASSE"),
            ("ǅemal", "ǆemal"),
            ("Ǆemal", "ǆemal"),
            ("BJENSEN@example.com", "bjensen@EXAMPLE.COM"),
            // NFC: e + combining acute equals precomposed é.
            ("Jose\u{301}", "JOSÉ"),
            ("İstanbul", "i\u{307}stanbul"),
        ];
        for (a, b) in same {
            assert_eq!(fold_key(a), fold_key(b), "{a} ~ {b}");
        }
        let different = [("İstanbul", "istanbul"), ("ıi", "ii"), ("ıi", "II")];
        for (a, b) in different {
            assert_ne!(fold_key(a), fold_key(b), "{a} !~ {b}");
        }
    }
}
