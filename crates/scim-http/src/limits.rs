//! The per-client-address limits on the work a caller without a working credential can
//! cause (`--auth-rate-limit`, `--auth-rate-burst`):
//!
//! - a credential lookup the store refused takes a token of the address's bucket; once a
//!   refusal finds the bucket empty, the address's lookups are held back (429) until it
//!   refills;
//! - at most [`MAX_LOOKUPS_IN_FLIGHT`] lookups of one address run at once, so a wave of
//!   parallel guesses cannot take the store's whole connection pool before its first
//!   refusal is counted;
//! - `/admin/login` and `/admin/logout` take a token on every request.
//!
//! Credentials known good (accepted within a day) never count and are never held back
//! (the core's `TenantService::authenticate` decides): an IdP's egress address serves many
//! tenants, and one of them sending bad credentials must not lock the others out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use scim_core::service::{LookupLimit, LookupPermit};
use scim_core::{ScimError, ScimResult};

use crate::rate::{RateLimit, RateLimiter};

/// Lookups of one address that may run at once.
pub const MAX_LOOKUPS_IN_FLIGHT: u32 = 16;

/// Every client address's bucket and lookups in flight.
#[derive(Debug)]
pub struct AddressLimits {
    limiter: RateLimiter<IpAddr>,
    limited: bool,
    in_flight: Mutex<HashMap<IpAddr, u32>>,
}

impl AddressLimits {
    /// `None`: no limit at all.
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limited: limit.is_some(),
            limiter: RateLimiter::new(limit),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token of the address's bucket (429 beyond it).
    pub(crate) fn charge(&self, client: IpAddr) -> ScimResult<()> {
        self.limiter
            .check(&client)
            .map_err(|retry_after| ScimError::RateLimited { retry_after })
    }

    /// The limit on the credential lookups of a request from `client`.
    pub(crate) fn lookups(&self, client: IpAddr) -> AddressLookups<'_> {
        AddressLookups {
            limits: self,
            client,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, u32>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The credential lookups of one client address.
pub(crate) struct AddressLookups<'a> {
    limits: &'a AddressLimits,
    client: IpAddr,
}

impl LookupLimit for AddressLookups<'_> {
    fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>> {
        let limits = self.limits;
        if !limits.limited {
            return Ok(LookupPermit::free());
        }
        limits
            .limiter
            .blocked(&self.client)
            .map_err(|retry_after| ScimError::RateLimited { retry_after })?;
        {
            let mut in_flight = limits.lock();
            let running = in_flight.entry(self.client).or_default();
            if *running >= MAX_LOOKUPS_IN_FLIGHT {
                return Err(ScimError::RateLimited { retry_after: 1 });
            }
            *running += 1;
        }
        let client = self.client;
        Ok(LookupPermit::new(move |refused| {
            {
                let mut in_flight = limits.lock();
                if let Some(running) = in_flight.get_mut(&client) {
                    *running = running.saturating_sub(1);
                    if *running == 0 {
                        in_flight.remove(&client);
                    }
                }
            }
            if refused {
                limits.limiter.charge_and_block(&client);
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn lookups_in_flight_are_capped_per_address_and_refusals_block() {
        let limits = AddressLimits::new(RateLimit::of(1, 2));
        let lookups = limits.lookups(address(1));
        let permits: Vec<_> = (0..MAX_LOOKUPS_IN_FLIGHT)
            .map(|_| lookups.begin_lookup().unwrap())
            .collect();
        assert!(lookups.begin_lookup().is_err(), "one more than the cap");
        assert!(
            limits.lookups(address(2)).begin_lookup().is_ok(),
            "another address"
        );
        for mut permit in permits {
            permit.answered(false);
        }
        // Answered, not refused: room again, nothing charged.
        for _ in 0..5 {
            lookups.begin_lookup().unwrap().answered(false);
        }
        // Refusals take tokens, and so does a lookup that ends unanswered (its request
        // cancelled); the refusal that finds the bucket empty blocks the address.
        lookups.begin_lookup().unwrap().answered(true);
        drop(lookups.begin_lookup().unwrap());
        lookups.begin_lookup().unwrap().answered(true);
        assert!(matches!(
            lookups.begin_lookup(),
            Err(ScimError::RateLimited { .. })
        ));
        assert!(limits.lock().is_empty(), "no count left behind");
        // No limit: nothing is counted.
        let open = AddressLimits::new(None);
        let lookups = open.lookups(address(1));
        let permits: Vec<_> = (0..100).map(|_| lookups.begin_lookup().unwrap()).collect();
        assert_eq!(permits.len(), 100);
    }
}
