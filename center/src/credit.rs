//! The credit company the center asks when a member pays for a card by
//! credit ([0013]: "the center asks the credit company for credit and issues
//! at once when granted").
//!
//! The center talks to it through [`CreditCompany`]. The adapter shipped is
//! [`SimulatedCreditCompany`], driven by the `[credit]` section of
//! `center.toml`, so a whole center runs on one machine: each member has a
//! monthly credit line, and a request that would go over it is declined with
//! a reason. A real adapter would make a network call; it belongs in front
//! of the committer (which must not wait on the network), handing the
//! committer the decision with the telegram. The flow already records what
//! was granted per member and month, which is what it needs either way.

use denbun_protocol::header::PartyId;

use crate::config::Credit;

/// What the center asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditRequest {
    /// The member asking for a card.
    pub member: PartyId,
    /// The card's amount.
    pub amount_yen: u64,
    /// The calendar month, `yyyymm`.
    pub month: u32,
    /// What the company granted this member in the month so far.
    pub granted_this_month_yen: u64,
}

/// The credit company's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreditDecision {
    /// Granted: issue the card.
    Granted {
        /// The company's authorization code (kept in the posting's description).
        authorization: String,
    },
    /// Declined, with the company's reason for the member.
    Declined {
        /// Why.
        reason: String,
    },
}

/// A credit company.
pub trait CreditCompany {
    /// Grants or declines `request`.
    fn authorize(&self, request: &CreditRequest) -> CreditDecision;
}

/// The simulated credit company of `center.toml`'s `[credit]` section.
pub struct SimulatedCreditCompany<'c> {
    config: &'c Credit,
}

impl<'c> SimulatedCreditCompany<'c> {
    /// The company as configured.
    pub fn new(config: &'c Credit) -> Self {
        Self { config }
    }
}

impl CreditCompany for SimulatedCreditCompany<'_> {
    fn authorize(&self, request: &CreditRequest) -> CreditDecision {
        let line_yen = self.config.line_yen(request.member);
        let company = &self.config.company;
        if line_yen == 0 {
            return CreditDecision::Declined { reason: format!("{company} grants {} no credit", request.member) };
        }
        let wanted = request.granted_this_month_yen.saturating_add(request.amount_yen);
        if wanted > line_yen {
            let left = line_yen.saturating_sub(request.granted_this_month_yen);
            return CreditDecision::Declined {
                reason: format!(
                    "{company} declined: the monthly credit line is {line_yen} yen and {left} yen of it is left"
                ),
            };
        }
        CreditDecision::Granted { authorization: format!("SIM{}-{}-{wanted}", request.month, request.member.number()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_simulation_grants_within_the_monthly_line_and_declines_beyond_it() {
        let mut config = Config::default_config().credit;
        config.default_monthly_line_yen = 10_000;
        config.lines.insert("M00000002".to_owned(), 0);
        let company = SimulatedCreditCompany::new(&config);
        let request = |member: u64, amount_yen, granted_this_month_yen| CreditRequest {
            member: PartyId::member(member).unwrap(),
            amount_yen,
            month: 202_503,
            granted_this_month_yen,
        };
        assert!(matches!(company.authorize(&request(1, 10_000, 0)), CreditDecision::Granted { .. }));
        assert!(matches!(company.authorize(&request(1, 4_000, 6_000)), CreditDecision::Granted { .. }));
        match company.authorize(&request(1, 4_001, 6_000)) {
            CreditDecision::Declined { reason } => assert!(reason.contains("4000 yen of it is left"), "{reason}"),
            other => panic!("expected a decline, got {other:?}"),
        }
        assert!(matches!(company.authorize(&request(2, 1, 0)), CreditDecision::Declined { .. }));
    }
}
