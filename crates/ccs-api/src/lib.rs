//! Custom resource types of the `customerspace.io/v1alpha1` API. Types only: no client code.
// kube-derive's printcolumn(...) lists repeat `type_ = "string"`, which clippy takes for duplicated attributes.
#![allow(clippy::duplicated_attributes)]

pub mod billing_export;
pub mod budget_alert;
pub mod cloud_contract;
pub mod common;
pub mod console_access;
pub mod crdgen;
pub mod parameters;
pub mod portal_user;
pub mod service_order;

pub use billing_export::{BillingExport, BillingExportSpec, BillingExportStatus};
pub use budget_alert::{BudgetAlert, BudgetAlertSpec, BudgetAlertStatus};
pub use cloud_contract::{CloudContract, CloudContractSpec, CloudContractStatus};
pub use common::*;
pub use console_access::{ConsoleAccess, ConsoleAccessSpec, ConsoleAccessStatus};
pub use portal_user::{PortalUser, PortalUserSpec, PortalUserStatus};
pub use service_order::{ServiceOrder, ServiceOrderSpec, ServiceOrderStatus};

/// API group of every kind of this operator.
pub const GROUP: &str = "customerspace.io";
/// API version served by this release.
pub const VERSION: &str = "v1alpha1";
/// Category shared by the four kinds: `kubectl get customerspace` lists them all.
pub const CATEGORY: &str = "customerspace";

/// The CustomResourceDefinitions of every kind, in a stable order.
pub fn all_crds()
-> Vec<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> {
    use kube::CustomResourceExt;
    vec![
        BillingExport::crd(),
        BudgetAlert::crd(),
        CloudContract::crd(),
        ConsoleAccess::crd(),
        PortalUser::crd(),
        ServiceOrder::crd(),
    ]
}
