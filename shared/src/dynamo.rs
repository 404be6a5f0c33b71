//! What the three DynamoDB adapters (claims, order states, watches) share: attribute values,
//! how an SDK error becomes a store error, and whether a condition failed.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::StoreError;

/// An item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

/// A number attribute.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A number attribute of `item`, when present and a number.
pub fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// The store could not be reached or refused the call; the text holds the SDK's cause.
pub fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(DisplayErrorContext(&error).to_string())
}

/// True when the call failed only because its condition did not hold.
pub fn is_condition_failure<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// A strongly consistent read of one item by its `pk`.
pub async fn get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
) -> Result<Option<Item>, StoreError> {
    let output = client
        .get_item()
        .table_name(table)
        .key("pk", s(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(unavailable)?;
    Ok(output.item)
}

/// An item's size as DynamoDB bills it: each attribute's name plus its value (strings and
/// binaries by their bytes, numbers about one byte per two digits plus one, maps and lists three
/// bytes plus one per element plus their contents).
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> u64 {
    let number = |n: &str| {
        let digits = n.chars().filter(char::is_ascii_digit).count() as u64;
        digits.div_ceil(2) + 1
    };
    match value {
        AttributeValue::S(s) => s.len() as u64,
        AttributeValue::N(n) => number(n),
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(items) => items.iter().map(|s| s.len() as u64).sum(),
        AttributeValue::Ns(items) => items.iter().map(|n| number(n)).sum(),
        AttributeValue::Bs(items) => items.iter().map(|b| b.as_ref().len() as u64).sum(),
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_sizes_follow_dynamodbs_rules() {
        let item: Item = [
            ("pk".to_string(), s("EVENT#octopus#evt_1")),   // 2 + 19
            ("n".to_string(), n(12345)),                    // 1 + 3 + 1
            ("ok".to_string(), AttributeValue::Bool(true)), // 2 + 1
        ]
        .into_iter()
        .collect();
        assert_eq!(item_size(&item), 21 + 5 + 3);
    }
}
