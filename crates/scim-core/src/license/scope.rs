//! Which users' licenses a write can change.

use crate::resource::MembershipChange;

/// A write of a resource, as far as licenses care.
#[derive(Debug, Clone, Copy)]
pub enum LicensedWrite<'a> {
    /// A new user: it holds nothing and is in no group, so its attributes decide alone.
    UserCreated,
    /// A user replaced or patched.
    UserChanged,
    /// A user about to be deleted.
    UserDeleted,
    /// A group created, replaced or patched; `renamed` when its displayName changed.
    GroupChanged {
        /// Its displayName changed (the rules read it).
        renamed: bool,
        /// Its membership changes.
        changes: &'a [MembershipChange],
    },
    /// A group about to be deleted.
    GroupDeleted,
}

/// The users whose licenses a write can change, for the store to find (and lock) before
/// handing them to the [engine](super::LicensePlan).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseScope<'a> {
    /// The written user, a new one (nothing held, no groups to read).
    pub new_user: bool,
    /// The written user.
    pub written_user: bool,
    /// The written user, leaving: it keeps nothing.
    pub leaving_user: bool,
    /// The users below the written group (members, members of member groups, …) before
    /// the write: a group renamed, emptied or deleted changes what they are granted.
    pub below_group_before: bool,
    /// The users below the resources these ids name (members a group gained or lost).
    pub below_members: Vec<&'a str>,
    /// The users below the written group after the write.
    pub below_group_after: bool,
}

impl LicenseScope<'_> {
    /// Whether no user's licenses can change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Who a write affects. `maps_groups`: the tenant has a rule mapping a group to a sku;
/// without one, no group write changes a license.
pub fn license_scope(write: LicensedWrite<'_>, maps_groups: bool) -> LicenseScope<'_> {
    match write {
        LicensedWrite::UserCreated => LicenseScope {
            new_user: true,
            ..LicenseScope::default()
        },
        LicensedWrite::UserChanged => LicenseScope {
            written_user: true,
            ..LicenseScope::default()
        },
        LicensedWrite::UserDeleted => LicenseScope {
            leaving_user: true,
            ..LicenseScope::default()
        },
        LicensedWrite::GroupChanged { .. } | LicensedWrite::GroupDeleted if !maps_groups => {
            LicenseScope::default()
        }
        LicensedWrite::GroupDeleted => LicenseScope {
            below_group_before: true,
            ..LicenseScope::default()
        },
        LicensedWrite::GroupChanged { renamed, changes } => {
            let whole_group = renamed
                || changes
                    .iter()
                    .any(|change| matches!(change, MembershipChange::RemoveAll));
            let below_members = changes
                .iter()
                .flat_map(|change| match change {
                    MembershipChange::Add(members) => {
                        members.iter().map(|member| member.id.as_str()).collect()
                    }
                    MembershipChange::Remove(ids) => ids.iter().map(String::as_str).collect(),
                    MembershipChange::RemoveAll => Vec::new(),
                })
                .collect();
            LicenseScope {
                below_group_before: whole_group,
                below_members,
                below_group_after: whole_group,
                ..LicenseScope::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::NewMember;

    fn member(id: &str) -> NewMember {
        NewMember {
            id: id.into(),
            display: None,
        }
    }

    #[test]
    fn group_writes_reach_licenses_only_when_groups_map_to_skus() {
        let changes = [MembershipChange::Add(vec![member("u1")])];
        let write = LicensedWrite::GroupChanged {
            renamed: true,
            changes: &changes,
        };
        assert!(license_scope(write, false).is_empty());
        assert!(license_scope(LicensedWrite::GroupDeleted, false).is_empty());
        assert!(license_scope(LicensedWrite::UserChanged, false).written_user);
    }

    #[test]
    fn a_group_reaches_the_members_it_changed_and_all_of_them_when_renamed_or_emptied() {
        let changes = [
            MembershipChange::Add(vec![member("u1"), member("g2")]),
            MembershipChange::Remove(vec!["u3".into()]),
        ];
        let scope = |renamed, changes| {
            license_scope(LicensedWrite::GroupChanged { renamed, changes }, true)
        };
        let named = scope(false, &changes);
        assert_eq!(named.below_members, ["u1", "g2", "u3"]);
        assert!(!named.below_group_before && !named.below_group_after);
        let renamed = scope(true, &[]);
        assert!(renamed.below_group_before && renamed.below_group_after);
        let emptied = scope(false, &[MembershipChange::RemoveAll]);
        assert!(emptied.below_group_before && emptied.below_group_after);
        let deleted = license_scope(LicensedWrite::GroupDeleted, true);
        assert!(deleted.below_group_before && !deleted.below_group_after);
    }
}
