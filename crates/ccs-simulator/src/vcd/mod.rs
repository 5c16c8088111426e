//! A faithful subset of the VMware Cloud Director CloudAPI (`/cloudapi/1.0.0`), the FCA console:
//! sessions (Basic `user@org:password`, the token in `X-VMWARE-VCLOUD-ACCESS-TOKEN`), users
//! (the `VcdUser` body), roles and orgs, with Cloud Director's paging and FIQL filters. One
//! organization per FCA contract, seeded with the standard roles and two users: an organization
//! administrator and an auditor (read only).

mod paging;
mod routes;
mod state;

pub use routes::routes;
pub use state::{VcdOrgInfo, VcdWorld};
