//! Taking the seats a license plan needs: the part of the license rules that `scim-core`
//! leaves to the store, because whether a seat is free is only known where the pools are
//! kept (inside the write's transaction).

use scim_core::StoreError;
use scim_core::fold::fold_key;
use scim_core::license::{LicenseChanges, Pool};

/// Applies `changes` to the pools' use: each revocation gives its seat back, each
/// assignment takes one. When an assignment finds its pool full (`used >= seats`, which
/// also holds for a pool whose seats were lowered below its use), nothing changes and the
/// refusal names the pool as it is spelled, its seats and its use.
///
/// Skus without a pool are ignored: the rules never grant them.
pub fn take_seats(pools: &mut [Pool], changes: &LicenseChanges) -> Result<(), StoreError> {
    let mut after = pools.to_vec();
    for sku in &changes.revoke {
        if let Some(pool) = pool_mut(&mut after, sku) {
            pool.used -= 1;
        }
    }
    for (sku, _) in &changes.assign {
        let Some(pool) = pool_mut(&mut after, sku) else {
            continue;
        };
        if pool.used >= pool.seats {
            return Err(StoreError::SeatsExhausted {
                sku: pool.sku.clone(),
                seats: pool.seats,
                used: pool.used,
            });
        }
        pool.used += 1;
    }
    pools.clone_from_slice(&after);
    Ok(())
}

/// The pool of `sku`, compared as the core compares skus (case-insensitively).
pub fn pool_mut<'p>(pools: &'p mut [Pool], sku: &str) -> Option<&'p mut Pool> {
    let key = fold_key(sku);
    pools.iter_mut().find(|pool| fold_key(&pool.sku) == key)
}

#[cfg(test)]
mod tests {
    use scim_core::license::LicenseSource;

    use super::*;

    fn pool(sku: &str, seats: i64, used: i64) -> Pool {
        Pool {
            used,
            ..Pool::new(sku, seats)
        }
    }

    fn assigning(skus: &[&str]) -> LicenseChanges {
        LicenseChanges {
            assign: skus
                .iter()
                .map(|sku| ((*sku).to_owned(), LicenseSource::Direct))
                .collect(),
            ..LicenseChanges::default()
        }
    }

    #[test]
    fn assignments_take_seats_and_revocations_give_them_back() {
        let mut pools = [pool("basic", 10, 3), pool("Pro", 2, 1)];
        take_seats(&mut pools, &assigning(&["basic", "pro"])).unwrap();
        assert_eq!((pools[0].used, pools[1].used), (4, 2));
        let revoke = LicenseChanges {
            revoke: vec!["PRO".into()],
            ..LicenseChanges::default()
        };
        take_seats(&mut pools, &revoke).unwrap();
        assert_eq!(pools[1].used, 1);
    }

    #[test]
    fn a_full_pool_refuses_the_whole_plan() {
        let mut pools = [pool("basic", 10, 3), pool("pro", 2, 2)];
        let refused = take_seats(&mut pools, &assigning(&["basic", "pro"]));
        match refused {
            Err(StoreError::SeatsExhausted { sku, seats, used }) => {
                assert_eq!((sku.as_str(), seats, used), ("pro", 2, 2));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Nothing changed, not even the basic seat taken before the refusal.
        assert_eq!((pools[0].used, pools[1].used), (3, 2));
    }

    #[test]
    fn a_pool_lowered_below_its_use_takes_nobody_new() {
        let mut pools = [pool("pro", 1, 3)];
        assert!(take_seats(&mut pools, &assigning(&["pro"])).is_err());
    }
}
