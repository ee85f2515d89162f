//! Calls on a tenant's behalf go to the public internet only (see `scim_core::outbound`):
//! every address a receiver's (or its token endpoint's, or a federated issuer's JWKS)
//! host resolves to is checked when the request is made, and the connection goes to the addresses checked, so a name that resolves to a
//! private address, or starts to, is refused however it was registered.

use std::io;
use std::time::Duration;

use scim_core::outbound::{NetworkPolicy, is_public};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// An HTTP agent for calls on a tenant's behalf: to where `policy` allows only, no
/// redirect followed (an address is what was registered), no proxy from the environment
/// (it would resolve hosts where they cannot be checked), every request within `timeout`.
pub(crate) fn agent(timeout: Duration, policy: NetworkPolicy) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .user_agent(concat!("scim-license-server/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        PublicOnly::new(policy),
    )
}

/// Resolves as the system does, then keeps the public addresses only (unless the policy
/// allows private ones).
#[derive(Debug)]
pub(crate) struct PublicOnly {
    pub(crate) policy: NetworkPolicy,
    system: DefaultResolver,
}

impl PublicOnly {
    pub(crate) fn new(policy: NetworkPolicy) -> Self {
        Self {
            policy,
            system: DefaultResolver::default(),
        }
    }
}

impl Resolver for PublicOnly {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved = self.system.resolve(uri, config, timeout)?;
        if self.policy.allow_private {
            return Ok(resolved);
        }
        let mut public = self.empty();
        for address in resolved.iter().filter(|address| is_public(address.ip())) {
            public.push(*address);
        }
        if public.is_empty() {
            // The address itself is left out: it would tell whoever reads the delivery's
            // error about the server's own network.
            let host = uri.host().unwrap_or_default();
            return Err(ureq::Error::Io(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{host} resolves to loopback, private or link-local addresses only, which \
                     the server does not call (--allow-private-webhooks allows them)"
                ),
            )));
        }
        Ok(public)
    }
}
