//! HTML escaping and the page around every dashboard view.

use http::StatusCode;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};

use crate::response::{Reply, Response};

/// Text made safe for HTML element content and quoted attribute values (`&<>"'/`
/// escaped, by `html-escape`).
pub(crate) fn esc(text: &str) -> String {
    html_escape::encode_safe(text).into_owned()
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#0f172a;background:#f8fafc}\
header{background:#0f172a;color:#fff;padding:12px 24px}header a{color:#fff;text-decoration:none;font-weight:600}\
main{padding:16px 24px;max-width:1100px}section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;margin:0 0 16px}\
h1{font-size:20px;margin:8px 0 16px}h2{font-size:16px;margin:0 0 8px}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
.muted{color:#64748b}.warn{color:#b45309}.bad{color:#dc2626}.ok{color:#15803d}\
svg.chart text{font-size:12px;fill:#0f172a}svg.chart text.axis{fill:#64748b;text-anchor:end}svg.chart text.start{text-anchor:start}\
.charts{display:flex;flex-wrap:wrap;gap:16px}\
header form.session{float:right;margin:0}form.inline{display:inline}header form.session span{margin-right:8px;color:#cbd5e1}";

/// A whole page for someone not logged in: no script, inline style only, never cached,
/// never referred.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_for(status, title, body, None)
}

/// A whole page; a logged-in session's header says what it sees (`sees`, already HTML)
/// and has the logout button.
pub(crate) fn page_for(
    status: StatusCode,
    title: &str,
    body: &str,
    sees: Option<&str>,
) -> Response {
    page_of(&Site::ADMIN, status, title, body, sees)
}

/// Which of the server's sites a page belongs to: its home and where it logs out.
pub(crate) struct Site {
    /// What the header links to.
    pub(crate) home: &'static str,
    /// Its name in the header.
    pub(crate) name: &'static str,
    /// The logout form's action.
    pub(crate) logout: &'static str,
}

impl Site {
    /// The operator's dashboard.
    pub(crate) const ADMIN: Self = Self {
        home: "/admin",
        name: "SCIM license server",
        logout: "/admin/logout",
    };
}

/// A whole page of `site`; a logged-in session's header says what it sees (`sees`,
/// already HTML) and has the logout button.
pub(crate) fn page_of(
    site: &Site,
    status: StatusCode,
    title: &str,
    body: &str,
    sees: Option<&str>,
) -> Response {
    let session = sees.map_or_else(String::new, |sees| {
        format!(
            "<form method=\"post\" action=\"{logout}\" class=\"session\">\
             <span data-field=\"session-scope\">{sees}</span> \
             <button type=\"submit\">Log out</button></form>",
            logout = site.logout
        )
    });
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · {name}</title><style>{STYLE}</style></head>\
         <body><header><a href=\"{home}\">{name}</a>{session}</header>\
         <main>{body}</main></body></html>",
        title = esc(title),
        name = site.name,
        home = site.home,
    );
    Reply::new(status)
        .header(CONTENT_TYPE, "text/html; charset=utf-8")
        .header(
            CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .header(CACHE_CONTROL, "no-store")
        .header(REFERRER_POLICY, "no-referrer")
        .header(X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(X_FRAME_OPTIONS, "DENY")
        .body(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">O'Neil & co</a>"#),
            "&lt;a href=&quot;x&quot;&gt;O&#x27;Neil &amp; co&lt;&#x2F;a&gt;"
        );
    }
}
