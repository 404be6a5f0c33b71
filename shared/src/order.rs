//! What an order is to hookline: which provider, which kind, which id.

use std::fmt;

/// The kinds of order or transfer hookline tracks; ids of different kinds may collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// Octopus voucher order.
    Voucher,
    /// Octopus eSIM order.
    Esim,
    /// Octopus top-up order (gaming top-up or mobile recharge).
    Topup,
    /// A payment order (Optty) or payout order (OwlPay).
    Order,
    /// OwlPay merchant-acquiring payment intent.
    PaymentIntent,
    /// Coinme order template (consumed or expired at a location).
    OrderTemplate,
    /// Coinme CAAS buy transaction.
    Transaction,
    /// OwlPay Harbor transfer.
    Transfer,
    /// An Octopus eSIM known only by its ICCID: the eSIM document's lifecycle events
    /// (installed, activated, depleted) identify the eSIM, not the order.
    EsimProfile,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voucher => "voucher",
            Self::Esim => "esim",
            Self::Topup => "topup",
            Self::Order => "order",
            Self::PaymentIntent => "payment_intent",
            Self::OrderTemplate => "order_template",
            Self::Transaction => "transaction",
            Self::Transfer => "transfer",
            Self::EsimProfile => "esim_profile",
        }
    }
}

impl fmt::Display for OrderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One order at one provider.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrderRef {
    pub provider: String,
    pub kind: OrderKind,
    /// Validated by the provider's rules (Octopus: a positive integer).
    pub order_id: String,
}

impl OrderRef {
    /// The table key of the order's state: `ORDER#{provider}#{kind}#{order_id}`. The kind is
    /// part of the key because voucher and eSIM order ids are separate sequences.
    pub fn state_key(&self) -> String {
        format!("ORDER#{}#{}#{}", self.provider, self.kind, self.order_id)
    }
}
