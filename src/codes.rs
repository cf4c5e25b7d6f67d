//! The registry of diagnostic codes: every code gcc reports, the stage that reports it,
//! and the exit class of a command that stops on it. The constants live beside the code
//! that reports them (`load::TOO_LARGE`); this is the one list of them all, which the
//! CLI's exit codes, `compile::refused` and the tests (every code registered once, every
//! code produced by a fixture or a test) read.

use crate::diag::Diagnostic;

/// The stage that reports a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the input files.
    Load,
    /// Parsing their YAML.
    Yaml,
    /// Their shape against the input schemas.
    Schema,
    /// The checks of the model (names, references, addresses, roles, the environment).
    Check,
    /// The plan (the HA proof, charts, stores).
    Plan,
    /// Rendering the objects.
    Render,
    /// Writing the output directory, and `build --all`.
    Build,
    /// The deploy branch.
    Publish,
    /// A tree against its lock.
    Verify,
    /// `gcc rehearse`.
    Rehearse,
}

/// What a code means for the exit status of a command that reports it as an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The input was read and found wrong, a finding, a failed verification: exit 1.
    Invalid,
    /// gcc refused the request or could not carry it out (a file it will not read, a name
    /// that is a path, I/O, git): exit 2.
    Refused,
}

/// One registered code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The code (`gcc::load::too_large`).
    pub name: &'static str,
    /// Who reports it.
    pub stage: Stage,
    /// Its exit class.
    pub class: Class,
}

const fn code(name: &'static str, stage: Stage, class: Class) -> Code {
    Code { name, stage, class }
}

/// Every code, by stage (one line each: kept out of rustfmt, which would spread them).
#[rustfmt::skip]
pub const ALL: &[Code] = &[
    code(crate::load::AMBIGUOUS_INVENTORY, Stage::Load, Class::Invalid),
    code(crate::load::UNKNOWN_INVENTORY, Stage::Load, Class::Invalid),
    code(crate::load::CRLF, Stage::Load, Class::Refused),
    code(crate::load::IO, Stage::Load, Class::Refused),
    code(crate::load::LINK_OUTSIDE, Stage::Load, Class::Refused),
    code(crate::load::NOT_UTF8, Stage::Load, Class::Refused),
    code(crate::load::NUL_BYTE, Stage::Load, Class::Refused),
    code(crate::load::TOO_LARGE, Stage::Load, Class::Refused),
    code(crate::load::UNKNOWN_ENVIRONMENT, Stage::Load, Class::Refused),
    code(crate::yaml::ALIAS_BUDGET, Stage::Yaml, Class::Refused),
    code(crate::yaml::AMBIGUOUS_SCALAR, Stage::Yaml, Class::Invalid),
    code(crate::yaml::DUPLICATE_KEY, Stage::Yaml, Class::Invalid),
    code(crate::yaml::SYNTAX, Stage::Yaml, Class::Invalid),
    code(crate::yaml::TAB_INDENT, Stage::Yaml, Class::Invalid),
    code(crate::yaml::TOO_DEEP, Stage::Yaml, Class::Refused),
    code(crate::schema::INVALID_VALUE, Stage::Schema, Class::Invalid),
    code(crate::schema::MISSING_KEY, Stage::Schema, Class::Invalid),
    code(crate::schema::OUT_OF_RANGE, Stage::Schema, Class::Invalid),
    code(crate::schema::UNKNOWN_KEY, Stage::Schema, Class::Invalid),
    code(crate::schema::WRONG_TYPE, Stage::Schema, Class::Invalid),
    code(crate::check::environment::INVALID_HOST, Stage::Check, Class::Invalid),
    code(crate::check::environment::AUTOSCALE_RANGE, Stage::Check, Class::Invalid),
    code(crate::check::environment::BELOW_HA, Stage::Check, Class::Invalid),
    code(crate::check::environment::MISSING_EXPORT, Stage::Check, Class::Invalid),
    code(crate::check::environment::MULTIPLE_DEFAULTS, Stage::Check, Class::Invalid),
    code(crate::check::environment::PLAINTEXT_SECRET, Stage::Check, Class::Invalid),
    code(crate::check::environment::STORAGE_FIELD, Stage::Check, Class::Invalid),
    code(crate::check::environment::UNKNOWN_SERVICE, Stage::Check, Class::Invalid),
    code(crate::check::names::INVALID_CLASS_NAME, Stage::Check, Class::Invalid),
    code(crate::check::names::DUPLICATE_NAME, Stage::Check, Class::Invalid),
    code(crate::check::names::INVALID_NAME, Stage::Check, Class::Invalid),
    code(crate::check::names::PATH_ESCAPE, Stage::Check, Class::Refused),
    code(crate::check::network::ADDRESS_IN_NO_SUBNET, Stage::Check, Class::Invalid),
    code(crate::check::network::ADDRESS_IS_BROADCAST, Stage::Check, Class::Invalid),
    code(crate::check::network::ADDRESS_IS_GATEWAY, Stage::Check, Class::Invalid),
    code(crate::check::network::ADDRESS_IS_NETWORK, Stage::Check, Class::Invalid),
    code(crate::check::network::ADDRESS_OUTSIDE_SUBNET, Stage::Check, Class::Invalid),
    code(crate::check::network::DUPLICATE_ADDRESS, Stage::Check, Class::Invalid),
    code(crate::check::network::DUPLICATE_MAC, Stage::Check, Class::Invalid),
    code(crate::check::network::GATEWAY_OUTSIDE_SUBNET, Stage::Check, Class::Invalid),
    code(crate::check::network::POOL_CONTAINS_GATEWAY, Stage::Check, Class::Invalid),
    code(crate::check::network::POOL_OUTSIDE_SUBNET, Stage::Check, Class::Invalid),
    code(crate::check::network::POOL_OVERLAP, Stage::Check, Class::Invalid),
    code(crate::check::network::POOL_REVERSED, Stage::Check, Class::Invalid),
    code(crate::check::network::STATIC_IN_DHCP_POOL, Stage::Check, Class::Invalid),
    code(crate::check::network::STATIC_IN_RESERVED, Stage::Check, Class::Invalid),
    code(crate::check::network::STATIC_IN_VIP_POOL, Stage::Check, Class::Invalid),
    code(crate::check::network::SUBNET_OVERLAP, Stage::Check, Class::Invalid),
    code(crate::check::network::CLUSTER_OVERLAP, Stage::Check, Class::Invalid),
    code(crate::check::raw::CIDR_HOST_BITS, Stage::Check, Class::Invalid),
    code(crate::check::raw::DUPLICATE_SECTION, Stage::Check, Class::Invalid),
    code(crate::check::raw::INVALID_ADDRESS, Stage::Check, Class::Invalid),
    code(crate::check::raw::INVALID_CIDR, Stage::Check, Class::Invalid),
    code(crate::check::raw::INVALID_MAC, Stage::Check, Class::Invalid),
    code(crate::check::raw::MISSING_SITE, Stage::Check, Class::Invalid),
    code(crate::check::raw::NODE_PLACEMENT, Stage::Check, Class::Invalid),
    code(crate::check::refs::UNKNOWN_EXPORT, Stage::Check, Class::Invalid),
    code(crate::check::refs::UNKNOWN_HARDWARE, Stage::Check, Class::Invalid),
    code(crate::check::refs::UNKNOWN_HYPERVISOR, Stage::Check, Class::Invalid),
    code(crate::check::refs::UNKNOWN_SUBNET, Stage::Check, Class::Invalid),
    code(crate::check::refs::UNKNOWN_GIT_SERVER, Stage::Check, Class::Invalid),
    code(crate::check::topology::MISSING_ROLE, Stage::Check, Class::Invalid),
    code(crate::check::topology::NO_BRIDGE, Stage::Check, Class::Invalid),
    code(crate::check::topology::TOO_FEW_CONTROLLERS, Stage::Check, Class::Invalid),
    code(crate::plan::HA_UNPROVABLE, Stage::Plan, Class::Invalid),
    code(crate::plan::NO_CHART, Stage::Plan, Class::Invalid),
    code(crate::plan::NO_STORE, Stage::Plan, Class::Invalid),
    code(crate::plan::UNANNOUNCED, Stage::Plan, Class::Invalid),
    code(crate::plan::EXPORT_PURPOSE_DOUBLED, Stage::Plan, Class::Invalid),
    code(crate::plan::UNUSED_EXPORT, Stage::Plan, Class::Invalid),
    code(crate::plan::edge::NO_GATEWAY_POOL, Stage::Plan, Class::Invalid),
    code(crate::plan::edge::ADDRESS_OUTSIDE_POOL, Stage::Plan, Class::Invalid),
    code(crate::plan::edge::UNKNOWN_ENDPOINT, Stage::Plan, Class::Invalid),
    code(crate::plan::edge::DUPLICATE_HOST, Stage::Plan, Class::Invalid),
    code(crate::plan::REPLACED_TEMPLATE, Stage::Plan, Class::Invalid),
    code(crate::plan::SECRET_LITERAL, Stage::Plan, Class::Invalid),
    code(crate::plan::UNPLACEABLE, Stage::Plan, Class::Invalid),
    code(crate::compile::RENDER, Stage::Render, Class::Refused),
    code(crate::ops::outdir::NO_ENVIRONMENTS, Stage::Build, Class::Refused),
    code(crate::ops::outdir::NOT_OURS, Stage::Build, Class::Refused),
    code(crate::ops::outdir::OVERLAP, Stage::Build, Class::Refused),
    code(crate::ops::outdir::WRITE_FAILED, Stage::Build, Class::Refused),
    code(crate::validate::SCHEMA_VIOLATION, Stage::Build, Class::Invalid),
    code(crate::publish::AMBIGUOUS, Stage::Publish, Class::Refused),
    code(crate::publish::BAD_NAME, Stage::Publish, Class::Refused),
    code(crate::publish::CONFLICT, Stage::Publish, Class::Refused),
    code(crate::publish::DIRTY, Stage::Publish, Class::Refused),
    code(crate::publish::FOREIGN_BRANCH, Stage::Publish, Class::Refused),
    code(crate::publish::GIT, Stage::Publish, Class::Refused),
    code(crate::publish::NO_REPOSITORY, Stage::Publish, Class::Refused),
    code(crate::publish::NOT_A_BUILD, Stage::Publish, Class::Refused),
    code(crate::publish::NOT_FOUND, Stage::Publish, Class::Refused),
    code(crate::publish::PIN_EXISTS, Stage::Publish, Class::Refused),
    code(crate::publish::OTHER_TIP, Stage::Publish, Class::Invalid),
    code(crate::verify::MISMATCH, Stage::Verify, Class::Invalid),
    code(crate::rehearse::BAD_TREE, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::ROUTE_NOWHERE, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::PRIVATE_ENDPOINT, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::PROVIDER_UNBRIDGED, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::CONNECTS_NOWHERE, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::DEAD_KEY, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::DEFAULT_CREDENTIAL, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::HELM_FAILED, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::HOOK_DEADLOCK, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::POST_SYNC_WAIT, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::IMAGE_MISMATCH, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::NOT_REHEARSED, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::PLACEHOLDER_MANGLED, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::SCHEMA_VIOLATION, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::SELECTS_NOTHING, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::TWO_OWNERS, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::UNSCHEDULABLE, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::WAITS_FOREVER, Stage::Rehearse, Class::Invalid),
    code(crate::rehearse::WEAK_API, Stage::Rehearse, Class::Invalid),
];

/// The registered code named `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static Code> {
    ALL.iter().find(|c| c.name == name)
}

/// Whether `diags` hold an error whose code is [`Class::Refused`]: inputs gcc refuses
/// outright rather than reports as mistakes (a file it will not read, a name that would
/// escape the output directory), so the command exits 2, as on any unreadable input.
pub fn refused(diags: &[Diagnostic]) -> bool {
    diags
        .iter()
        .any(|d| d.is_error() && lookup(d.code).is_some_and(|c| c.class == Class::Refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_registered_once_under_its_stages_namespace_family() {
        let mut names: Vec<&str> = ALL.iter().map(|c| c.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a code registered twice");
        for c in ALL {
            assert!(c.name.starts_with("gcc::"), "{}", c.name);
        }
    }

    #[test]
    fn unreadable_inputs_and_escaping_names_are_refused_and_mistakes_are_not() {
        let d = |code| vec![Diagnostic::error(code, "x")];
        assert!(refused(&d(crate::load::TOO_LARGE)));
        assert!(refused(&d(crate::check::names::PATH_ESCAPE)));
        assert!(!refused(&d(crate::schema::UNKNOWN_KEY)));
        assert!(!refused(&d(crate::plan::HA_UNPROVABLE)));
        // A warning never refuses.
        assert!(!refused(&[Diagnostic::warning(
            crate::load::TOO_LARGE,
            "x"
        )]));
    }
}
