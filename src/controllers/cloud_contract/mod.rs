//! CloudContract controller: the portal's view of a contract into status, the declared referent
//! into the portal, incident emails to the declared recipients.

pub mod plan;
