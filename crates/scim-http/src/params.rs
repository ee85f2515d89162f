//! Query-string and `.search` body parameters of list requests (RFC 7644 §3.4.2, §3.4.3).

use scim_core::ScimError;
use scim_core::list_request::{ListRequest, parse_paging_number};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::request::Request;

/// The query string, with parameter names matched case-insensitively.
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn of(req: &Request) -> ApiResult<Self> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .map(Self)
            .map_err(|e| {
                ApiError(ScimError::InvalidValue(format!(
                    "malformed query string: {e}"
                )))
            })
    }

    /// The name of a parameter whose value (or name) holds U+0000, if any.
    pub(crate) fn holding_nul(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
            .map(|(k, _)| k.as_str())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The list parameters of a GET on a resource endpoint.
    pub(crate) fn list_request(&self) -> ApiResult<ListRequest> {
        let number = |name: &str| -> ApiResult<Option<i64>> {
            self.get(name)
                .map(|text| parse_paging_number(name, text))
                .transpose()
                .map_err(ApiError)
        };
        Ok(ListRequest::parse(
            self.get("filter"),
            self.get("sortBy"),
            self.get("sortOrder"),
            number("startIndex")?,
            number("count")?,
        )?
        .with_cursor(self.get("cursor"))?)
    }
}

pub(crate) const SEARCH_REQUEST_SCHEMA: &str =
    "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A parsed `POST …/.search` body: the list request and the projection lists.
pub(crate) struct SearchBody {
    pub(crate) list: ListRequest,
    pub(crate) attributes: Option<String>,
    pub(crate) excluded: Option<String>,
}

impl SearchBody {
    pub(crate) fn parse(body: &Value) -> ApiResult<Self> {
        let Value::Object(fields) = body else {
            return Err(invalid_syntax("a SearchRequest must be a JSON object"));
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        if let Some(schemas) = field("schemas") {
            let ok = schemas.as_array().is_some_and(|s| {
                s.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
                })
            });
            if !ok {
                return Err(invalid_syntax(&format!(
                    "'schemas' must contain '{SEARCH_REQUEST_SCHEMA}'"
                )));
            }
        }
        let text = |name: &str| -> ApiResult<Option<String>> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid_value(&format!("'{name}' must be a string"))),
            }
        };
        let number = |name: &str| -> ApiResult<Option<i64>> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
                Some(Value::Number(n)) if n.is_u64() => Ok(Some(i64::MAX)),
                Some(Value::String(s)) => parse_paging_number(name, s).map(Some).map_err(ApiError),
                Some(_) => Err(invalid_value(&format!("'{name}' must be an integer"))),
            }
        };
        let list_of = |name: &str| -> ApiResult<Option<String>> {
            match field(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .ok_or_else(|| invalid_value(&format!("'{name}' must list strings")))
                    })
                    .collect::<ApiResult<Vec<_>>>()
                    .map(|names| Some(names.join(","))),
                Some(_) => Err(invalid_value(&format!(
                    "'{name}' must be an array of strings"
                ))),
            }
        };
        let list = ListRequest::parse(
            text("filter")?.as_deref(),
            text("sortBy")?.as_deref(),
            text("sortOrder")?.as_deref(),
            number("startIndex")?,
            number("count")?,
        )?
        .with_cursor(text("cursor")?.as_deref())?;
        Ok(Self {
            list,
            attributes: list_of("attributes")?,
            excluded: list_of("excludedAttributes")?,
        })
    }
}

fn invalid_syntax(detail: &str) -> ApiError {
    ApiError(ScimError::InvalidSyntax(detail.to_owned()))
}

fn invalid_value(detail: &str) -> ApiError {
    ApiError(ScimError::InvalidValue(detail.to_owned()))
}
