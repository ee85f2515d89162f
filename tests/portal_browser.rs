//! The customer's portal in a real browser (Debian's Chromium through chromedriver): the
//! IT admin opens a setup link, picks Entra ID, creates the credential, the test runs an
//! Entra-shaped provisioning cycle with it, the admin sees "Connected" and the refused
//! user's reason, maps a group the IdP pushed to a pool after the preview, rotates the
//! credential while the IdP keeps provisioning, and logs out; an expired and a revoked
//! link are refused; no page shows another tenant. A screenshot of each page goes to `target/ci-artifacts/`.

use serde_json::{Value, json};

use crate::helpers::{GROUP_SCHEMA, Server, Store, USER_SCHEMA, back_date, cli, tenant_with_token};
use crate::management::{api_key, call};
use crate::webdriver::{Browser, installed};

/// What Entra ID's provisioning sends as its agent (any value naming Microsoft reads as
/// Entra ID).
const ENTRA_AGENT: &str = "Microsoft.Identity.Provisioning";

fn entra(server: &Server, method: &str, path: &str, token: &str, body: Option<&Value>) -> u16 {
    server
        .scim_as(ENTRA_AGENT, method, path, token, body)
        .status
}

/// An access token as Entra asks for one: client credentials in the form body.
fn client_token(server: &Server, id: &str, secret: &str) -> crate::helpers::Reply {
    server.token_form(&format!(
        "grant_type=client_credentials&client_id={id}&client_secret={secret}"
    ))
}

#[test]
fn an_it_admin_connects_entra_from_a_setup_link_in_a_real_browser() {
    let Some((driver, chromium)) = installed() else {
        return;
    };
    let server = Server::start(Store::sqlite());
    cli(
        &server.store,
        &["tenant", "create", "acme", "--name", "Acme Corp"],
    );
    cli(
        &server.store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "1",
        ],
    );
    cli(
        &server.store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "team", "--seats", "2",
        ],
    );
    // Another tenant, busy: none of it may ever show.
    let globex = tenant_with_token(&server.store, "globex");
    let zed = json!({"schemas": [USER_SCHEMA], "userName": "zed@globex.example"});
    assert_eq!(server.post("/scim/v2/Users", &globex, &zed).status, 201);
    let key = api_key(&server, &[]);
    let link = call(
        &server,
        "POST",
        "/tenants/acme/setup-links",
        &key,
        Some(&json!({})),
    );
    let url = link.json["url"].as_str().expect("a link").to_owned();

    let browser = Browser::start(&driver, &chromium);
    let mut pages = Vec::new();
    let mut keep = |browser: &Browser, name: &str| {
        browser.screenshot(&format!("portal-{name}.png"));
        pages.push(browser.source());
    };

    browser.open(&url);
    assert!(browser.url().ends_with("/portal"), "{}", browser.url());
    assert_eq!(browser.text("h1"), "Acme Corp");
    keep(&browser, "home");
    browser.click("a[data-action=setup]");
    keep(&browser, "choose");
    browser.click("a[href='/portal/setup/entra']");
    assert!(
        browser
            .text("[data-field=base-url]")
            .ends_with("/scim/v2?aadOptscim062020")
    );
    keep(&browser, "entra");
    browser.click("button[data-action=create-credential]");
    let client_id = browser.text("[data-field=client-id]");
    let secret = browser.text("[data-field=secret]");
    let token_url = browser.text("[data-field=token-url]");
    assert_eq!(token_url, format!("{}/oauth/token", server.base));
    keep(&browser, "entra-credential");

    // Entra's cycle with what the admin copied: a token, a lookup, two licensed creates
    // (the second finds the pool full), a PATCH.
    let issued = client_token(&server, &client_id, &secret);
    assert_eq!(issued.status, 200, "{}", issued.text);
    let access = issued.json["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let lookup = "/scim/v2/Users?filter=userName%20eq%20%22ada%40acme.example%22";
    assert_eq!(entra(&server, "GET", lookup, &access, None), 200);
    let licensed = |name: &str| {
        json!({"schemas": [USER_SCHEMA], "userName": name, "active": true,
               "roles": [{"value": "pro", "primary": "True"}]})
    };
    let ada_body = licensed("ada@acme.example");
    let ada = server.scim_as(
        ENTRA_AGENT,
        "POST",
        "/scim/v2/Users",
        &access,
        Some(&ada_body),
    );
    assert_eq!(ada.status, 201, "{}", ada.text);
    let bob = licensed("bob@acme.example");
    assert_eq!(
        entra(&server, "POST", "/scim/v2/Users", &access, Some(&bob)),
        400
    );
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "displayName", "value": "Ada L."}]});
    let ada_path = format!("/scim/v2/Users/{}", ada.json["id"].as_str().unwrap());
    assert_eq!(
        entra(&server, "PATCH", &ada_path, &access, Some(&patch)),
        200
    );

    browser.click("a[data-action=check-connection]");
    let said = browser.text("[data-field=connection]");
    assert!(
        said.starts_with("Connected: first request from Entra ID"),
        "{said}"
    );
    keep(&browser, "connected");

    // Entra pushes a group; the admin maps it to a pool after the preview.
    let cy = json!({"schemas": [USER_SCHEMA], "userName": "cy@acme.example", "active": true});
    let cy = server.scim_as(ENTRA_AGENT, "POST", "/scim/v2/Users", &access, Some(&cy));
    assert_eq!(cy.status, 201, "{}", cy.text);
    let group = json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering"});
    let group = server.scim_as(
        ENTRA_AGENT,
        "POST",
        "/scim/v2/Groups",
        &access,
        Some(&group),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let members = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "members", "value": [
            {"value": ada.json["id"]}, {"value": cy.json["id"]}]}]});
    let group_path = format!("/scim/v2/Groups/{}", group.json["id"].as_str().unwrap());
    assert_eq!(
        entra(&server, "PATCH", &group_path, &access, Some(&members)),
        204
    );
    browser.open(&format!("{}/portal", server.base));
    browser.click("a[data-action=licenses]");
    assert_eq!(browser.text("[data-sku=team][data-field=used]"), "0");
    keep(&browser, "licenses");
    browser.pick("#group option");
    browser.pick("#group-sku option[value=team]");
    browser.click("button[data-action=preview-group]");
    let effect = browser.text("[data-sku=team][data-field=effect]");
    assert_eq!(
        effect,
        "team: 2 users would get a seat (2 of 2 seats used after)."
    );
    keep(&browser, "licenses-preview");
    browser.open(&format!("{}/portal/licenses", server.base));
    assert_eq!(
        browser.text("[data-sku=team][data-field=used]"),
        "0",
        "the preview saved nothing"
    );
    browser.pick("#group-sku option[value=team]");
    browser.click("button[data-action=preview-group]");
    browser.click("button[data-action=apply]");
    let saved = browser.text("[data-field=saved]");
    assert!(saved.contains("2 users got a seat"), "{saved}");
    assert_eq!(browser.text("[data-sku=team][data-field=used]"), "2");
    keep(&browser, "licenses-saved");
    // Rotation with overlap while the IdP keeps provisioning: the new client works next to
    // the old; completing it revokes the old client and the access tokens it obtained.
    browser.open(&format!("{}/portal/credentials", server.base));
    let last_use = browser.text(&format!(
        "tr[data-credential='client:{client_id}'] [data-field=last-use]"
    ));
    assert!(last_use.contains("Entra ID"), "{last_use}");
    keep(&browser, "credentials");
    browser.click(&format!(
        "button[data-action=rotate][data-id='{client_id}']"
    ));
    let new_id = browser.text("[data-field=client-id]");
    let new_secret = browser.text("[data-field=secret]");
    assert_ne!(new_id, client_id);
    keep(&browser, "rotation");
    assert_eq!(
        entra(&server, "GET", lookup, &access, None),
        200,
        "the old still works"
    );
    let renewed = client_token(&server, &new_id, &new_secret);
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let new_access = renewed.json["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    assert_eq!(entra(&server, "GET", lookup, &new_access, None), 200);
    browser.click("button[data-action=complete]");
    assert!(
        browser.url().ends_with("/portal/credentials"),
        "{}",
        browser.url()
    );
    assert_eq!(
        entra(&server, "GET", lookup, &access, None),
        401,
        "the old is revoked"
    );
    assert_eq!(
        entra(&server, "GET", lookup, &new_access, None),
        200,
        "the new works on"
    );
    let old_again = client_token(&server, &client_id, &secret);
    assert_eq!(old_again.status, 401);

    browser.open(&format!("{}/portal/activity?outcome=failure", server.base));
    let refused = browser.text("tr[data-outcome=failure]");
    assert!(
        refused.contains("bob@acme.example")
            && refused.contains("license pool 'pro' has no free seat: 1 of 1 seats are assigned"),
        "{refused}"
    );
    keep(&browser, "activity");
    browser.open(&format!("{}/portal", server.base));
    assert_eq!(browser.text("[data-sku=pro][data-field=used]"), "1");
    keep(&browser, "home-after");

    browser.click("header form.session button");
    assert_eq!(browser.text("h1"), "Logged out");
    keep(&browser, "logged-out");
    browser.open(&format!("{}/portal", server.base));
    assert_eq!(browser.text("h1"), "Open your setup link");

    // An expired link, then a revoked one: refused.
    back_date(
        &server.store,
        "portal_grants",
        link.json["id"].as_str().unwrap(),
    );
    browser.open(&url);
    assert_eq!(browser.text("h1"), "This setup link does not work");
    keep(&browser, "expired-link");
    let second = call(
        &server,
        "POST",
        "/tenants/acme/setup-links",
        &key,
        Some(&json!({})),
    );
    let id = second.json["id"].as_str().unwrap();
    let revoked = call(
        &server,
        "DELETE",
        &format!("/tenants/acme/setup-links/{id}"),
        &key,
        None,
    );
    assert_eq!(revoked.status, 204);
    browser.open(second.json["url"].as_str().unwrap());
    assert_eq!(browser.text("h1"), "This setup link does not work");

    for page in &pages {
        for foreign in ["globex", "Globex", "zed@"] {
            assert!(
                !page.contains(foreign),
                "{foreign} on a page of acme's portal: {page}"
            );
        }
    }
}
