//! The Customer Space simulator: a faithful, deterministic implementation of
//! `config/customer-space-api.yaml` for the demo and for every test.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use ccs_simulator::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::default()).await?; // 127.0.0.1, random port
//! let contract = sim.contract_ids()[0].clone();
//! let creds = sim.credentials(&contract, "manager").expect("seeded");
//! // ... point a client at sim.base_url() with creds ...
//! sim.advance_clock(3600.0); // one simulated hour later
//! # Ok(()) }
//! ```

mod admin;
mod auth;
mod billing;
mod calllog;
mod catalog;
pub mod cli;
mod clock;
mod config;
mod contracts;
mod errors;
mod faults;
mod handlers;
mod hostile;
mod requests;
mod rights;
mod rng;
mod seed;
mod server;
mod users;
mod vcd;
mod weather;
mod world;

pub use calllog::CallRecord;
pub use config::SimConfig;
pub use faults::{FaultKind, FaultRule};
pub use hostile::HostileCase;
pub use server::{OPENAPI, OPENAPI_DOCS, VCD_OPENAPI, VCD_OPENAPI_DOCS};
pub use vcd::VcdOrgInfo;
pub use world::World;

use ccs_portal_model::Credentials;
use ccs_portal_model::{Language, ServiceRequest};
use chrono::{DateTime, Utc};
use serde::Serialize;
use server::App;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Credentials the seed created.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededCredential {
    /// `manager` (the contract's referent, Manager everywhere), `visitor` (Visitor everywhere), or
    /// `operator` (Manager on every contract, not referent).
    pub label: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// API key.
    pub api_key: String,
    /// Email of the account the credential acts as.
    pub account_email: String,
    /// Contracts in scope.
    pub contracts: Vec<String>,
}

impl SeededCredential {
    /// As client credentials.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(&self.client_id, &self.client_secret, &self.api_key)
    }
}

fn seeded_credentials(world: &World) -> Vec<SeededCredential> {
    world
        .credentials
        .iter()
        .map(|c| SeededCredential {
            label: c.label.clone(),
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            api_key: c.api_key.clone(),
            account_email: world
                .accounts
                .get(&c.account_id)
                .map(|a| a.account.email.clone())
                .unwrap_or_default(),
            contracts: c.contracts.clone(),
        })
        .collect()
}

/// Freezes consumption data at the current simulated time, or thaws it; returns the freeze time.
fn freeze_consumption(app: &App, frozen: bool) -> Option<DateTime<Utc>> {
    let at = {
        let mut world = app.write();
        world.consumption_frozen_at = frozen.then(|| world.clock.now());
        world.consumption_frozen_at
    };
    app.persist();
    at
}

/// Where and how to run.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Address to bind (port 0: any free port).
    pub listen: SocketAddr,
    /// Save the state here after each change, and load it at start when present.
    pub state_file: Option<PathBuf>,
    /// Serve the `/admin` routes.
    pub admin: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_file: None,
            admin: true,
        }
    }
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    app: Arc<App>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Simulator {
    /// Starts on 127.0.0.1 with a free port, admin enabled, no state file.
    pub async fn start(config: SimConfig) -> anyhow::Result<Self> {
        Self::serve(config, ServeOptions::default()).await
    }

    /// Starts with explicit options.
    pub async fn serve(config: SimConfig, options: ServeOptions) -> anyhow::Result<Self> {
        config.validate()?;
        let loaded = match &options.state_file {
            Some(path) => server::load_state(path, &config)?,
            None => None,
        };
        let world = loaded.unwrap_or_else(|| World::seeded(&config));
        let app = Arc::new(App::new(world, options.state_file.clone()));
        app.persist();
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        let addr = listener.local_addr()?;
        let router = server::router(app.clone(), options.admin);
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(%err, "simulator server stopped");
            }
        });
        Ok(Self { app, addr, task })
    }

    /// Waits until the server stops (never, unless it fails).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.task).await?;
        Ok(())
    }

    /// The Cloud Director organization of an FCA contract: its name and seeded accounts.
    pub fn vcd_org(&self, contract: &str) -> Option<VcdOrgInfo> {
        self.app.read().vcd.org_info(contract)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Contract ids, sorted.
    pub fn contract_ids(&self) -> Vec<String> {
        self.app.read().contracts.keys().cloned().collect()
    }

    /// Every seeded credential.
    pub fn seeded_credentials(&self) -> Vec<SeededCredential> {
        seeded_credentials(&self.app.read())
    }

    /// The credential with this label whose scope includes `contract` (`manager`, `visitor`,
    /// `operator`).
    pub fn credentials(&self, contract: &str, label: &str) -> Option<Credentials> {
        self.seeded_credentials()
            .into_iter()
            .find(|c| c.label == label && c.contracts.iter().any(|x| x == contract))
            .map(|c| c.credentials())
    }

    /// Calls logged after sequence number `since` (0: all kept).
    pub fn calls(&self, since: u64) -> Vec<CallRecord> {
        self.app
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .since(since)
    }

    /// The most business calls answered at once since the call log was last emptied.
    pub fn max_in_flight(&self) -> usize {
        self.app
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .max_in_flight()
    }

    /// Empties the call log.
    pub fn clear_calls(&self) {
        self.app.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Replaces the fault rules.
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.app
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set(rules);
    }

    /// The fault rules with their remaining counts.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.app.faults.lock().unwrap_or_else(|e| e.into_inner()).rules()
    }

    /// Simulated now.
    pub fn now(&self) -> DateTime<Utc> {
        self.app.read().clock.now()
    }

    /// Sets the simulated time.
    pub fn set_clock(&self, now: DateTime<Utc>) {
        self.app.write().clock.set(now);
        self.app.persist();
    }

    /// Moves the simulated time forward by `seconds`.
    pub fn advance_clock(&self, seconds: f64) {
        self.app.write().clock.advance(seconds);
        self.app.persist();
    }

    /// Sets the clock speed (simulated seconds per real second; 0 stops it).
    pub fn set_clock_speed(&self, speed: f64) {
        self.app.write().clock.set_speed(speed);
        self.app.persist();
    }

    /// Freezes the consumption data at the current simulated time (its `dataAsOf` stops moving, as
    /// during a billing outage), or thaws it.
    pub fn freeze_consumption(&self, frozen: bool) {
        freeze_consumption(&self.app, frozen);
    }

    /// Invalidates every token (as if they had all expired).
    pub fn revoke_tokens(&self) {
        self.app.revoke_tokens();
    }

    /// Opens incidents on `region` (as `POST /admin/incidents` does), lasting `duration_seconds`
    /// simulated seconds; returns their ids.
    pub fn open_incidents(
        &self,
        region: &str,
        severity: u8,
        titles: &[String],
        duration_seconds: i64,
    ) -> Vec<String> {
        let mut world = self.app.write();
        let platform = world
            .contracts
            .values()
            .find(|c| c.regions.iter().any(|r| r == region))
            .map(|c| c.offer)
            .unwrap_or_else(|| panic!("no contract uses region {region}"));
        let opened_at = world.clock.now();
        let ids = titles
            .iter()
            .map(|title| {
                let incident = world::ManualIncident {
                    id: world.new_id("INC"),
                    title: title.clone(),
                    platform,
                    region: region.into(),
                    severity,
                    opened_at,
                    duration_seconds,
                    forced_state: None,
                };
                let id = incident.id.clone();
                world.manual_incidents.push(incident);
                id
            })
            .collect();
        drop(world);
        self.app.persist();
        ids
    }

    /// Forces the state of incidents opened through the admin API (`None`: back to the clock's);
    /// returns how many were found.
    pub fn set_incident_state(
        &self,
        ids: &[String],
        state: Option<ccs_portal_model::IncidentState>,
    ) -> usize {
        let mut world = self.app.write();
        let mut found = 0;
        for m in world.manual_incidents.iter_mut().filter(|m| ids.contains(&m.id)) {
            m.forced_state = state;
            found += 1;
        }
        drop(world);
        self.app.persist();
        found
    }

    /// Reads the state directly.
    pub fn with_world<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.app.read())
    }

    /// The requests of a contract as the API would show them now.
    pub fn requests(&self, contract: &str) -> Vec<ServiceRequest> {
        let world = self.app.read();
        let now = world.clock.now();
        world
            .requests
            .values()
            .filter(|r| r.request.contract_id == contract)
            .map(|r| requests::view(&world, r, now, Language::En))
            .collect()
    }
}
