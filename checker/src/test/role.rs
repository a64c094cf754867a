//! Which member a fault hits: a role the system gives its members, as the members' stats
//! report it at the moment of the fault. Each role is where a distinct class of mistakes
//! shows: a deposed Raft leader's, or a chain head's, middle's or tail's that the chain
//! was rebuilt around.

use crate::system::System;

/// A role a member holds, which `coord test --target` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// The Raft server that says it leads.
    Leader,
    /// Any other Raft server.
    Follower,
    /// The chain node that takes writes.
    Head,
    /// The chain node halfway down a chain of 3 or more.
    Middle,
    /// The chain node that commits writes (and alone answers reads under tail reads).
    Tail,
    /// The replica of a chain's configuration manager that leads its Raft group: it
    /// detects failures and publishes configurations.
    ManagerLeader,
}

impl Role {
    /// The roles of `system`'s members.
    pub fn of(system: System) -> &'static [Role] {
        match system {
            System::Kv | System::Zk => &[Role::Leader, Role::Follower],
            System::Chain => &[Role::Head, Role::Middle, Role::Tail, Role::ManagerLeader],
        }
    }

    /// How the fault injector names a member in this role.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Leader => "the leader",
            Role::Follower => "a follower",
            Role::Head => "the head",
            Role::Middle => "the middle of the chain",
            Role::Tail => "the tail",
            Role::ManagerLeader => "the manager's leader",
        }
    }
}

/// `Ok` if every member of `system` can hold `role`; else the error that names its roles.
pub fn check(system: System, role: Option<Role>) -> Result<(), String> {
    let roles = Role::of(system);
    match role {
        Some(role) if !roles.contains(&role) => Err(format!(
            "{} has no {} (its roles: {})",
            system.name(),
            value_name(&role),
            roles.iter().map(value_name).collect::<Vec<_>>().join(", ")
        )),
        _ => Ok(()),
    }
}

/// The name a command-line value goes by (`--target head`, `--faults failover-pause`).
pub fn value_name(value: &impl clap::ValueEnum) -> String {
    let value = value.to_possible_value().expect("no value is hidden");
    value.get_name().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_another_system_has_is_refused_with_the_roles_there_are() {
        assert!(check(System::Chain, Some(Role::Head)).is_ok());
        assert!(check(System::Kv, None).is_ok());
        let refused = check(System::Kv, Some(Role::Tail)).unwrap_err();
        assert_eq!(refused, "kv has no tail (its roles: leader, follower)");
    }
}
