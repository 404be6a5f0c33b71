//! One flat JSON object per log line: `level`, `message`, the event's fields, then the fields of
//! every span the event happened in, outermost first (the Lambda `requestId`, the SQS
//! `message_id`). No span names and no nesting: CloudWatch bills every byte, and Logs Insights
//! and metric filters read `$.event_id` or `$.requestId` directly.
//!
//! Lambda's runtime span also carries the X-Ray trace id of every invocation, traced or not. It
//! is kept only on a sampled trace (`Sampled=1`), the only kind it leads to.

use std::fmt;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The span field holding Lambda's X-Ray header (`lambda_runtime`'s invocation span).
const XRAY_FIELD: &str = "xrayTraceId";

/// The event formatter of the Lambdas' JSON lines. Span fields are stored by [`JsonFields`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FlatJson;

impl<S> FormatEvent<S, JsonFields> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Line::default();
        line.push("level", Value::from(event.metadata().level().as_str()));
        let mut fields = EventFields::default();
        event.record(&mut fields);
        if let Some(message) = fields.message {
            line.push("message", Value::from(message));
        }
        for (name, value) in fields.values {
            line.push(name, value);
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(stored) = extensions.get::<FormattedFields<JsonFields>>() else {
                    continue;
                };
                // `JsonFields` keeps a span's fields as one JSON object.
                if let Ok(Value::Object(values)) = serde_json::from_str::<Value>(stored.as_str()) {
                    for (name, value) in values {
                        if name == XRAY_FIELD && !is_sampled(&value) {
                            continue;
                        }
                        line.push_unless_present(name, value);
                    }
                }
            }
        }
        writeln!(writer, "{}", line.to_json())
    }
}

/// Whether an X-Ray header says the trace is sampled (recorded by X-Ray).
fn is_sampled(header: &Value) -> bool {
    header
        .as_str()
        .is_some_and(|h| h.split(';').any(|part| part.trim() == "Sampled=1"))
}

/// The members of a line in the order they are written.
#[derive(Default)]
struct Line(Vec<(String, Value)>);

impl Line {
    fn push(&mut self, name: impl Into<String>, value: Value) {
        self.0.push((name.into(), value));
    }

    /// An event's own field wins over a span's of the same name.
    fn push_unless_present(&mut self, name: String, value: Value) {
        if !self.0.iter().any(|(present, _)| *present == name) {
            self.0.push((name, value));
        }
    }

    fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (index, (name, value)) in self.0.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str(&Value::from(name.as_str()).to_string());
            out.push(':');
            out.push_str(&value.to_string());
        }
        out.push('}');
        out
    }
}

/// An event's fields as JSON values, its message apart.
#[derive(Default)]
struct EventFields {
    message: Option<String>,
    values: Vec<(&'static str, Value)>,
}

impl EventFields {
    fn record(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.values.push((field.name(), value));
        }
    }
}

impl Visit for EventFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.record(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record(field, Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use serde_json::json;
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines `emit` writes, each as the text and as JSON.
    fn lines_of(emit: impl FnOnce()) -> Vec<(String, Value)> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(crate::telemetry::json_layer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, emit);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| (line.to_string(), serde_json::from_str(line).unwrap()))
            .collect()
    }

    #[test]
    fn a_line_is_flat_with_the_fields_of_every_span_and_no_unsampled_trace_id() {
        let lines = lines_of(|| {
            let invocation = tracing::info_span!(
                "Lambda runtime invoke",
                requestId = "req-1",
                xrayTraceId = "Root=1-a-b;Parent=c;Sampled=0;Lineage=1:d:0"
            );
            let _invocation = invocation.enter();
            let record = tracing::info_span!(
                "record",
                message_id = "m-1",
                event_id = tracing::field::Empty,
                provider = "from-the-span"
            );
            // Recorded after the span began, as the processor does once it has read the body.
            record.record("event_id", "evt-1");
            let _record = record.enter();
            tracing::info!(
                fetch_ms = 3u64,
                known_type = true,
                provider = "octopus",
                "event processed"
            );
        });
        let (text, line) = &lines[0];
        assert_eq!(
            line,
            &json!({
                "level": "INFO",
                "message": "event processed",
                "fetch_ms": 3,
                "known_type": true,
                "provider": "octopus",
                "requestId": "req-1",
                "message_id": "m-1",
                "event_id": "evt-1",
            })
        );
        assert!(
            text.starts_with(r#"{"level":"INFO","message":"event processed","#),
            "{text}"
        );
        assert!(
            !text.contains("record") && !text.contains("runtime"),
            "no span names: {text}"
        );
    }

    #[test]
    fn a_sampled_trace_keeps_its_id() {
        let header = "Root=1-a-b;Parent=c;Sampled=1";
        let lines = lines_of(|| {
            let span = tracing::info_span!("invoke", requestId = "r", xrayTraceId = header);
            let _span = span.enter();
            tracing::warn!(error = %"boom", "enqueue failed");
        });
        let (_, line) = &lines[0];
        assert_eq!(line["xrayTraceId"], header);
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["error"], "boom");
    }

    #[test]
    fn a_line_outside_any_span_has_its_own_fields_only() {
        let lines = lines_of(|| tracing::error!(cause = "store", "event failed"));
        assert_eq!(
            lines[0].1,
            json!({"level": "ERROR", "message": "event failed", "cause": "store"})
        );
    }
}
