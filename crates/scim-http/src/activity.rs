//! Recording each SCIM request of a tenant in its provisioning activity
//! ([`scim_core::activity`]): who sent it (the IdP, by its `User-Agent`; the credential's
//! id), what it addressed, and how it ended — the SCIM error's type and detail for a
//! refusal. Only requests whose credential was accepted are recorded (a refused one names
//! no tenant). The entry goes to the activity service's buffer: the request never waits
//! for it.

use http::{Method, header};
use scim_core::activity::{ActivityEntry, client_of};
use scim_core::tenant::{Principal, TenantId};
use scim_core::{Resource, ScimError};
use serde::Deserialize;

use crate::request::Request;
use crate::state::AppState;

/// Who a request authenticated as, for its activity entry.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) tenant: TenantId,
    pub(crate) credential: String,
}

impl Caller {
    /// The caller a principal is.
    pub(crate) fn of(principal: &Principal) -> Self {
        Self {
            tenant: principal.tenant.clone(),
            credential: principal.credential_id.clone(),
        }
    }
}

/// The resource a request read or wrote, as its handler names it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Noted {
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
}

/// The names a refused request's body gave its resource (nothing else of it is kept).
#[derive(Deserialize)]
struct Names {
    #[serde(rename = "userName")]
    user_name: Option<String>,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
}

/// Notes `resource` as the one `req` read or wrote.
pub(crate) fn note(req: &Request, resource: &Resource) {
    let name = ["userName", "displayName"]
        .iter()
        .find_map(|attribute| resource.attributes.get(*attribute)?.as_str());
    req.note_resource(&resource.id, name);
}

/// Records `req`'s outcome: `refusal` when it was refused, else its status. `kind` names
/// what it addressed (`User`, `Bulk`…), `id` the resource its path names.
pub(crate) fn record(
    req: &Request,
    state: &AppState,
    kind: &str,
    id: Option<&str>,
    status: u16,
    refusal: Option<&ScimError>,
) {
    let Some(caller) = req.caller().filter(|_| state.config.record_activity) else {
        return;
    };
    let noted = req.noted().cloned().unwrap_or_default();
    let mut name = noted.name;
    if name.is_none() && refusal.is_some() && matches!(*req.method(), Method::POST | Method::PUT) {
        // The refused write's own words for its resource: a user the admin can find.
        name = req
            .body()
            .and_then(|body| serde_json::from_slice::<Names>(body).ok())
            .and_then(|names| names.user_name.or(names.display_name));
    }
    let entry = ActivityEntry {
        seq: 0,
        tenant: caller.tenant.clone(),
        at: state.clock.now(),
        client: client_of(req.header(header::USER_AGENT)),
        credential: caller.credential.clone(),
        method: req.method().as_str().to_owned(),
        resource_type: kind.to_owned(),
        resource_id: None,
        resource_name: None,
        status,
        scim_type: None,
        detail: None,
    }
    .about(noted.id.as_deref().or(id), name.as_deref());
    let entry = match refusal {
        Some(error) => entry.refused(error),
        None => entry,
    };
    state.activity.record(entry);
}
