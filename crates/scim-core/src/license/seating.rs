//! What a pool can give a write: the seat rules, apart from how a store keeps the counts.

use crate::error::StoreError;

/// What to do when a write needs a seat a pool does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SeatPolicy {
    /// The write fails with `SeatsExhausted` and nothing changes: a SCIM write of one
    /// resource, which the IdP may retry once a seat is free.
    Strict,
    /// Seats are assigned in the users' order while they last; the others wait (and are
    /// reported): an admin's change of seats or rules, which must not fail half-way.
    WhileSeatsLast,
    /// Users in order; a user whose seats are not all there is refused with
    /// `SeatsExhausted`, as its own write would have been, and takes none: a `/Bulk` run of
    /// new users written together.
    EachUserWhole,
}

/// What a pool's store knows of its seats when the engine asks, under its locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seats {
    /// The seats in use and bought, read with the pool locked: the engine decides.
    Counted {
        /// Seats bought.
        seats: i64,
        /// Seats in use, before the write.
        used: i64,
        /// The pool's policy as read with the pool locked: its overage allowance, and
        /// whether licenses wait for a seat.
        policy: super::PoolPolicy,
    },
    /// The store already took the demand's whole change from a part of the pool that keeps
    /// a free seat afterwards ([`PoolDemand::one_part_needs`]): the pool had room and is not
    /// exhausted, so there is nothing left to decide. Only for [`SeatPolicy::Strict`].
    TakenFromOnePart,
}

/// What one write asks of one pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDemand {
    /// The folded sku (the pool's key).
    pub key: String,
    /// The sku as the pool spells it.
    pub sku: String,
    /// Seats wanted.
    pub assign: i64,
    /// Seats given back (they serve the pool's waiting licenses, then this write's
    /// assignments).
    pub revoke: i64,
    /// Whether the pool keeps licenses waiting for a seat, as the rules read before the
    /// locks say ([`super::PoolPolicy::Pending`]): its every change is counted, so that a
    /// freed seat goes to the oldest waiting license.
    pub waits: bool,
}

impl PoolDemand {
    /// The change of the pool's use if every seat asked for is granted.
    pub fn change(&self) -> i64 {
        self.assign - self.revoke
    }

    /// Under `policy`, the free seats a part of the pool (a stripe) must hold for the store
    /// to take the whole change from it without counting the pool ([`Seats::TakenFromOnePart`]):
    /// the change and one more, so that the pool's last seat (and its `poolExhausted` event)
    /// is always decided on the counts; giving seats back needs an open part (`0`). `None`
    /// when the pool must be counted: any policy but `Strict`, a pool where licenses wait,
    /// or no change at all.
    pub fn one_part_needs(&self, policy: SeatPolicy) -> Option<i64> {
        let change = self.change();
        (policy == SeatPolicy::Strict && !self.waits && change != 0).then_some(if change > 0 {
            change + 1
        } else {
            0
        })
    }

    /// Seats this demand may take from a pool of `seats` with `used` in use: what is free
    /// once its own revocations are given back (never negative; a pool over its seats after
    /// they were lowered gives nothing until its use drops below them).
    pub fn room(&self, seats: i64, used: i64) -> i64 {
        (seats - (used - self.revoke)).max(0)
    }
}

/// Why a write cannot have a seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    /// As the pool spells it.
    pub sku: String,
    /// Seats bought.
    pub seats: i64,
    /// Seats in use, before the write.
    pub used: i64,
}

impl From<Shortage> for StoreError {
    fn from(shortage: Shortage) -> Self {
        StoreError::SeatsExhausted {
            sku: shortage.sku,
            seats: shortage.seats,
            used: shortage.used,
        }
    }
}

/// Whether a write that moved a pool's use from `used` to `after`, taking `granted` seats,
/// took its last free seat (it says so with a `poolExhausted` event; handing a seat over
/// in a pool already full does not).
pub fn took_last_seat(seats: i64, used: i64, after: i64, granted: i64) -> bool {
    granted > 0 && after >= seats && used < seats
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(assign: i64, revoke: i64) -> PoolDemand {
        PoolDemand {
            key: "pro".into(),
            sku: "Pro".into(),
            assign,
            revoke,
            waits: false,
        }
    }

    #[test]
    fn one_part_serves_strict_changes_that_keep_a_seat_free() {
        assert_eq!(demand(2, 0).one_part_needs(SeatPolicy::Strict), Some(3));
        assert_eq!(demand(0, 1).one_part_needs(SeatPolicy::Strict), Some(0));
        assert_eq!(demand(1, 1).one_part_needs(SeatPolicy::Strict), None);
        assert_eq!(
            demand(1, 0).one_part_needs(SeatPolicy::WhileSeatsLast),
            None
        );
        assert_eq!(demand(1, 0).one_part_needs(SeatPolicy::EachUserWhole), None);
        let waits = PoolDemand {
            waits: true,
            ..demand(0, 1)
        };
        assert_eq!(
            waits.one_part_needs(SeatPolicy::Strict),
            None,
            "a freed seat is counted"
        );
    }

    #[test]
    fn room_counts_the_writes_own_revocations_and_never_goes_negative() {
        assert_eq!(
            demand(1, 1).room(5, 5),
            1,
            "a seat handed over in a full pool"
        );
        assert_eq!(demand(1, 0).room(5, 5), 0);
        assert_eq!(demand(1, 1).room(2, 4), 0, "over its seats: nothing");
        assert!(took_last_seat(3, 2, 3, 1));
        assert!(!took_last_seat(3, 3, 3, 1), "already full: a hand-over");
        assert!(!took_last_seat(3, 1, 2, 1));
    }
}
