//! Property tests of the filter parser and evaluator: rendering round-trips, no panic on any
//! input, and the logical laws the evaluator must keep.

use proptest::prelude::*;
use scim_core::filter::{CompValue, CompareOp, Filter, check, matches, parse};
use scim_core::{AttrPath, ResourceKind, SchemaRegistry};
use serde_json::{Map, Number, Value, json};

const URNS: [&str; 2] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
];

const OPS: [CompareOp; 9] = [
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Co,
    CompareOp::Sw,
    CompareOp::Ew,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
];

/// An `ATTRNAME`; `not` is left out, as `not (` opens a negation where a path is expected.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,6}".prop_filter("'not' is a keyword there", |n| {
        !n.eq_ignore_ascii_case("not")
    })
}

fn path() -> impl Strategy<Value = AttrPath> {
    (
        proptest::option::of(proptest::sample::select(URNS.to_vec())),
        name(),
        proptest::option::of(name()),
    )
        .prop_map(|(urn, attr, sub)| AttrPath {
            urn: urn.map(str::to_owned),
            attr,
            sub,
        })
}

fn op() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(OPS.to_vec())
}

fn value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(CompValue::Number)),
        any::<String>().prop_map(CompValue::Str),
    ]
}

/// A filter whose paths are `path`s, without value filters.
fn simple_filter(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        (path.clone(), op(), value()).prop_map(|(p, o, v)| Filter::compare(p, o, v)),
        path.prop_map(Filter::Present),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::and(l, r)),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::or(l, r)),
            inner.prop_map(Filter::not),
        ]
    })
}

/// Any filter the grammar can express.
fn filter() -> impl Strategy<Value = Filter> {
    let value_path = (
        name(),
        simple_filter(name().prop_map(AttrPath::new).boxed()),
    )
        .prop_map(|(attr, inner)| Filter::value_path(AttrPath::new(attr), inner));
    let leaf = prop_oneof![
        3 => simple_filter(path().boxed()),
        1 => value_path,
    ];
    leaf.prop_recursive(3, 48, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::and(l, r)),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::or(l, r)),
            inner.prop_map(Filter::not),
        ]
    })
}

/// Text made of filter-ish pieces, to reach deep into the parser.
fn filterish_text() -> impl Strategy<Value = String> {
    let pieces = vec![
        "(",
        ")",
        "[",
        "]",
        " ",
        "not",
        "and",
        "or",
        "eq",
        "ne",
        "co",
        "pr",
        "gt",
        "true",
        "null",
        "\"",
        "\\",
        "\\u",
        "D83D",
        "\"x\"",
        "userName",
        "emails",
        "type",
        "value",
        ".",
        ":",
        "urn:ietf:params:scim:schemas:core:2.0:User:",
        "1",
        "-",
        "e",
        "0.5",
        "é",
        "ß",
        "😀",
        "\t",
        "$ref",
        "meta.lastModified",
        "\"2011-05-13T04:42:34Z\"",
    ];
    proptest::collection::vec(proptest::sample::select(pieces), 0..24).prop_map(|p| p.concat())
}

fn user_document() -> Map<String, Value> {
    let doc = json!({
        "schemas": [URNS[0], URNS[1]],
        "id": "2819c223",
        "userName": "Bjensen",
        "title": "",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        URNS[1]: {"department": "Straße"},
        "meta": {"lastModified": "2011-05-13T04:42:34.000Z", "version": "W/\"1\""}
    });
    match doc {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Well-typed filters over real User attributes.
fn user_filter() -> impl Strategy<Value = Filter> {
    let text = prop_oneof![
        Just("bjensen"),
        Just("B"),
        Just("EXAMPLE.COM"),
        Just("strasse"),
        Just("work"),
        Just(""),
    ];
    let string_path = proptest::sample::select(vec![
        "userName",
        "title",
        "displayName",
        "emails",
        "emails.type",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    ]);
    let time = proptest::sample::select(vec![
        "2011-05-13T04:42:34Z",
        "2011-05-13T06:42:34+02:00",
        "2000-01-01T00:00:00Z",
    ]);
    let strings = (string_path, op(), text).prop_map(|(p, o, t)| {
        Filter::compare(
            AttrPath::parse(p).unwrap_or_else(|_| AttrPath::new("userName")),
            o,
            t.into(),
        )
    });
    let times = (
        op().prop_filter("no substring op on dateTime", |o| !o.is_substring()),
        time,
    )
        .prop_map(|(o, t)| {
            Filter::compare(AttrPath::with_sub("meta", "lastModified"), o, t.into())
        });
    let bools = (
        proptest::sample::select(vec![CompareOp::Eq, CompareOp::Ne]),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(o, b)| {
            Filter::compare(
                AttrPath::new("active"),
                o,
                b.map_or(CompValue::Null, CompValue::Bool),
            )
        });
    let present = proptest::sample::select(vec!["title", "emails", "nickName", "active"])
        .prop_map(|p| Filter::Present(AttrPath::new(p)));
    let value_path = (text_value(), any::<bool>()).prop_map(|(t, primary)| {
        Filter::value_path(
            AttrPath::new("emails"),
            Filter::and(
                Filter::compare(AttrPath::new("type"), CompareOp::Eq, t.into()),
                Filter::compare(AttrPath::new("primary"), CompareOp::Eq, primary.into()),
            ),
        )
    });
    let leaf = prop_oneof![strings, times, bools, present, value_path];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::and(l, r)),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::or(l, r)),
            inner.prop_map(Filter::not),
        ]
    })
}

fn text_value() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec!["work", "home", "WORK"])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Integration tests have no `lib.rs` beside them to persist failures next to.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn rendering_parses_back_to_the_same_ast(filter in filter()) {
        let text = filter.to_string();
        prop_assert_eq!(parse(&text), Ok(filter), "{}", text);
    }

    #[test]
    fn any_text_parses_or_fails_cleanly(text in any::<String>()) {
        if let Ok(filter) = parse(&text) {
            prop_assert_eq!(parse(&filter.to_string()), Ok(filter));
        }
    }

    #[test]
    fn filterish_text_parses_checks_and_evaluates_without_panic(text in filterish_text()) {
        let registry = SchemaRegistry::standard();
        if let Ok(filter) = parse(&text) {
            prop_assert_eq!(parse(&filter.to_string()), Ok(filter.clone()));
            if check(&filter, ResourceKind::User, &registry).is_ok() {
                let doc = user_document();
                let negated = Filter::not(filter.clone());
                prop_assert_eq!(
                    matches(&negated, ResourceKind::User, &registry, &doc),
                    !matches(&filter, ResourceKind::User, &registry, &doc)
                );
            }
        }
    }

    #[test]
    fn the_evaluator_keeps_the_logical_laws(a in user_filter(), b in user_filter()) {
        let registry = SchemaRegistry::standard();
        let doc = user_document();
        let user = ResourceKind::User;
        prop_assert_eq!(check(&a, user, &registry), Ok(()), "{}", a);
        let eval = |f: &Filter| matches(f, user, &registry, &doc);
        let (ea, eb) = (eval(&a), eval(&b));
        prop_assert_eq!(eval(&Filter::not(a.clone())), !ea);
        prop_assert_eq!(eval(&Filter::and(a.clone(), b.clone())), ea && eb);
        prop_assert_eq!(eval(&Filter::or(a.clone(), b.clone())), ea || eb);
        // Evaluating the rendered text gives the same answer.
        let reparsed = parse(&a.to_string());
        prop_assert_eq!(reparsed.as_ref().map(eval), Ok(ea));
    }
}
