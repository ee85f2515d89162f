//! A pool's true-up over a period, from its audit log: the peak use, the most seats
//! granted beyond those bought, and the seat-days over them, for an overage invoice.
//!
//! The use at any moment is today's use taken back through the assignments and
//! revocations recorded since (waiting licenses hold no seat and do not count), so the
//! report is exact for as long as the audit log reaches back (every entry since `from`).
//! It is measured against the seats bought now.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use scim_core::license::{AuditAction, AuditEntry, Pool, TrueUp};
//!
//! let day = |d| Utc.with_ymd_and_hms(2026, 12, d, 0, 0, 0).unwrap();
//! let seat = |d, action| AuditEntry {
//!     at: day(d), user: "u".into(), sku: "pro".into(), action, source: None,
//!     cause: String::new(), actor: String::new(), seq: None,
//! };
//! // 2 seats bought, 3 in use now: one taken on the 3rd, none given back since.
//! let pool = Pool { used: 3, ..Pool::new("pro", 2) };
//! let log = [seat(3, AuditAction::Assigned)];
//! let report = TrueUp::of(&pool, &log, day(1), day(5), day(6));
//! assert_eq!((report.start_used, report.peak_used, report.peak_over), (2, 3, 1));
//! assert_eq!(report.seat_days_over, 2.0); // one seat over, from the 3rd to the 5th
//! ```

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::audit::{AuditAction, AuditEntry};
use super::pool::Pool;
use crate::fold::fold_key;

/// A pool's use over `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrueUp {
    /// As the pool spells it.
    pub sku: String,
    /// Seats bought (now).
    pub seats: i64,
    /// The period.
    pub from: DateTime<Utc>,
    /// The period's end (excluded).
    pub to: DateTime<Utc>,
    /// Seats in use when the period began.
    pub start_used: i64,
    /// Seats in use when it ended.
    pub end_used: i64,
    /// The most seats in use at once.
    pub peak_used: i64,
    /// When the use first reached its peak.
    pub peak_at: DateTime<Utc>,
    /// The most seats in use beyond those bought at once (`peak_used - seats`, or 0).
    pub peak_over: i64,
    /// Seats in use beyond those bought, summed over time, in days (one seat over for
    /// 36 hours is 1.5).
    pub seat_days_over: f64,
}

impl TrueUp {
    /// The true-up of `pool` (its use as of `now`) over `[from, to)`, from its audit
    /// `entries` recorded since `from` (any order; entries of other skus are skipped).
    pub fn of(
        pool: &Pool,
        entries: &[AuditEntry],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        let key = fold_key(&pool.sku);
        let mut changes: Vec<(DateTime<Utc>, i64)> = entries
            .iter()
            .filter(|entry| entry.at >= from && entry.at <= now)
            .filter(|entry| fold_key(&entry.sku) == key)
            .filter_map(|entry| match entry.action {
                AuditAction::Assigned => Some((entry.at, 1)),
                AuditAction::Revoked => Some((entry.at, -1)),
                _ => None,
            })
            .collect();
        changes.sort_by_key(|(at, _)| *at);
        let since_from: i64 = changes.iter().map(|(_, change)| change).sum();
        let start_used = pool.used - since_from;
        let end = to.min(now);
        let (mut used, mut at) = (start_used, from);
        let (mut peak_used, mut peak_at) = (start_used, from);
        let mut over_seconds = 0.0;
        let seats = pool.seats;
        for (when, change) in changes.into_iter().filter(|(when, _)| *when < to) {
            over_seconds += over(used, seats) * (when - at).as_seconds_f64();
            used += change;
            at = when;
            if used > peak_used {
                (peak_used, peak_at) = (used, when);
            }
        }
        over_seconds += over(used, seats) * (end - at).as_seconds_f64().max(0.0);
        Self {
            sku: pool.sku.clone(),
            seats,
            from,
            to,
            start_used,
            end_used: used,
            peak_used,
            peak_at,
            peak_over: (peak_used - seats).max(0),
            seat_days_over: over_seconds / 86_400.0,
        }
    }

    /// As `license true-up --json` shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "sku": self.sku,
            "seats": self.seats,
            "from": crate::resource::format_time(&self.from),
            "to": crate::resource::format_time(&self.to),
            "startUsed": self.start_used,
            "endUsed": self.end_used,
            "peakUsed": self.peak_used,
            "peakAt": crate::resource::format_time(&self.peak_at),
            "peakOver": self.peak_over,
            "seatDaysOver": (self.seat_days_over * 1000.0).round() / 1000.0,
        })
    }
}

/// Seats in use beyond those bought.
fn over(used: i64, seats: i64) -> f64 {
    (used - seats).max(0) as f64
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn day(d: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, hour, 0, 0).unwrap()
    }

    fn entry(at: DateTime<Utc>, sku: &str, action: AuditAction) -> AuditEntry {
        AuditEntry {
            at,
            user: "u".into(),
            sku: sku.into(),
            action,
            source: None,
            cause: String::new(),
            actor: String::new(),
            seq: None,
        }
    }

    #[test]
    fn the_use_is_taken_back_from_today_and_integrated_over_the_period() {
        use AuditAction::{Assigned, Pending, Revoked, Withdrawn};
        // 5 seats; now 6 in use. Over December 1–11: 5 at the start, 7 from the 2nd at
        // noon to the 4th at noon (2 over for 2 days), 6 from then on (1 over).
        let pool = Pool {
            used: 6,
            ..Pool::new("Pro", 5)
        };
        let log = [
            entry(day(2, 12), "pro", Assigned),
            entry(day(2, 12), "PRO", Assigned),
            entry(day(3, 0), "pro", Pending),
            entry(day(3, 1), "basic", Assigned),
            entry(day(4, 12), "pro", Revoked),
            entry(day(5, 0), "pro", Withdrawn),
            // After the period, before now: counted back, not in the period.
            entry(day(12, 0), "pro", Assigned),
            entry(day(13, 0), "pro", Revoked),
        ];
        let report = TrueUp::of(&pool, &log, day(1, 0), day(11, 0), day(14, 0));
        assert_eq!(
            (report.start_used, report.end_used, report.peak_used),
            (5, 6, 7)
        );
        assert_eq!((report.peak_at, report.peak_over), (day(2, 12), 2));
        // 2 over × 2 days + 1 over × 6.5 days.
        assert!((report.seat_days_over - 10.5).abs() < 1e-9, "{report:?}");
        assert_eq!(report.to_json()["seatDaysOver"], 10.5);

        // A period still running ends now; a pool never over owes nothing.
        let running = TrueUp::of(&pool, &log, day(1, 0), day(31, 0), day(4, 12));
        assert_eq!(running.end_used, 6);
        let roomy = Pool {
            used: 6,
            ..Pool::new("pro", 10)
        };
        let report = TrueUp::of(&roomy, &log, day(1, 0), day(11, 0), day(14, 0));
        assert_eq!((report.peak_over, report.seat_days_over), (0, 0.0));
    }
}
