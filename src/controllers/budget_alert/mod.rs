//! BudgetAlert controller: spend against a budget, one email per threshold and period.

pub mod period;
pub mod plan;
