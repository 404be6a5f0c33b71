//! `hookline template`: writes every receiver's part of `template.yaml` from the provider
//! registry, so a provider's receiver is declared once (its module's `ProviderSpec`) and the
//! template follows. Four regions, each between a `# >>> generated: receiver …` and a
//! `# <<< generated: receiver …` line: parameters, conditions, resources (function, function
//! URL and its two permissions, log group, accepted-webhook metric filter, rejected-webhook
//! alarm, and the dashboard) and outputs. What only one provider has (its order API, OwlPay's
//! renewal alarms, Optty's rules) stays written by hand outside them.
//! `scripts/check-generated.sh` fails CI when the committed template differs from this.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use hookline::keyring::SecretList;
use hookline::providers::{Allowed, EventNames, Provider, ProviderSpec, setting_parameter};

#[derive(Args)]
pub struct TemplateArgs {
    /// The template to fill in.
    #[arg(long, default_value = "template.yaml")]
    file: PathBuf,
    /// Write the regions into the file (without it: print the file as it would be).
    #[arg(long, conflicts_with = "check")]
    write: bool,
    /// Exit non-zero, naming the region, when the file's regions are not what the registry
    /// gives.
    #[arg(long)]
    check: bool,
}

/// Renders one region's lines.
type Render = fn() -> String;

/// The regions, by the words of their markers.
const REGIONS: [(&str, Render); 4] = [
    ("receiver parameters", parameters),
    ("receiver conditions", conditions),
    ("receiver resources", resources),
    ("receiver outputs", outputs),
];

pub fn run(args: TemplateArgs) -> Result<(), crate::failure::Failure> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| crate::failure::Failure::file(&args.file, &e))?;
    let filled = fill(&text)?;
    if args.check {
        if filled != text {
            return Err(crate::failure::Failure::CheckFailed(format!(
                "{} is not what the provider registry gives: run `hookline template --write` and commit it",
                args.file.display()
            )));
        }
        eprintln!("{} is current", args.file.display());
    } else if args.write {
        if filled != text {
            std::fs::write(&args.file, &filled)
                .map_err(|e| format!("cannot write {}: {e}", args.file.display()))?;
        }
        eprintln!("wrote {}", args.file.display());
    } else {
        print!("{filled}");
    }
    Ok(())
}

/// The template with every region replaced by what the registry gives.
pub fn fill(text: &str) -> Result<String, String> {
    let mut text = text.to_string();
    for (name, render) in REGIONS {
        let start_marker = format!("# >>> generated: {name}");
        let end_marker = format!("# <<< generated: {name}");
        let start = text
            .find(&start_marker)
            .ok_or_else(|| format!("the template has no `{start_marker}` line"))?;
        let body_start = start
            + text[start..]
                .find('\n')
                .ok_or_else(|| format!("`{start_marker}` ends the file"))?
            + 1;
        let end = text[body_start..]
            .find(&end_marker)
            .map(|at| body_start + at)
            .ok_or_else(|| format!("the template has no `{end_marker}` line"))?;
        // The end marker's own indentation stays where it is.
        let body_end = text[..end].rfind('\n').map_or(end, |at| at + 1);
        text.replace_range(body_start..body_end, &render());
    }
    Ok(text)
}

fn specs() -> impl Iterator<Item = &'static ProviderSpec> {
    Provider::ALL.into_iter().map(Provider::spec)
}

/// `Has{Name}`: the condition the provider's receiver exists under; `None`: always.
fn provider_condition(spec: &ProviderSpec) -> Option<String> {
    (!spec.stack.always_deployed).then(|| format!("Has{}", spec.template_name))
}

/// The condition of an optional secret list (OwlPay Harbor's): `Has` and its parameter's name
/// without `WebhookSecretName`.
fn list_condition(list: &SecretList) -> String {
    let stem = list
        .parameter
        .strip_suffix("WebhookSecretName")
        .or_else(|| list.parameter.strip_suffix("SecretName"))
        .unwrap_or(list.parameter);
    format!("Has{stem}")
}

/// The condition of its function URL's resources.
fn url_condition(spec: &ProviderSpec) -> String {
    match provider_condition(spec) {
        None => "HasFunctionUrls".to_string(),
        Some(_) => format!("{}FunctionUrl", spec.template_name),
    }
}

/// `Condition: …` line at resource level, or nothing.
fn condition_line(condition: Option<&str>) -> String {
    condition.map_or_else(String::new, |c| format!("    Condition: {c}\n"))
}

/// A folded description, wrapped under `indent`.
fn folded(text: &str, indent: usize) -> String {
    let width = 100 - indent;
    let mut out = String::from(">\n");
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            let _ = writeln!(out, "{:indent$}{line}", "");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    let _ = writeln!(out, "{:indent$}{line}", "");
    out
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn parameters() -> String {
    let mut out = String::new();
    for spec in specs() {
        for (i, list) in spec.secrets.iter().enumerate() {
            let required = spec.stack.always_deployed && i == 0 && !list.optional;
            let _ = write!(
                out,
                "  {}:\n    Type: String\n{}    Description: {}",
                list.parameter,
                if required {
                    "    MinLength: 1\n"
                } else {
                    "    Default: ''\n"
                },
                folded(list.description, 6),
            );
        }
        for setting in spec.settings {
            let allowed = match setting.allowed {
                Allowed::Values(values) => format!("    AllowedValues: [{}]\n", values.join(", ")),
                Allowed::Pattern(pattern) => format!("    AllowedPattern: {}\n", quoted(pattern)),
            };
            let _ = write!(
                out,
                "  {}:\n    Type: String\n    Default: {}\n{allowed}    Description: {}",
                setting_parameter(setting.var),
                quoted(setting.default),
                folded(setting.description, 6),
            );
        }
    }
    out
}

fn conditions() -> String {
    let mut out = String::new();
    for spec in specs() {
        let provider = provider_condition(spec);
        if let Some(condition) = &provider {
            let _ = writeln!(
                out,
                "  {condition}: !Not [!Equals [!Ref {}, '']]",
                spec.secrets[0].parameter
            );
        }
        for list in spec.secrets.iter().filter(|l| l.optional) {
            let set = format!("!Not [!Equals [!Ref {}, '']]", list.parameter);
            let _ = match &provider {
                Some(condition) => writeln!(
                    out,
                    "  {}: !And [!Condition {condition}, {set}]",
                    list_condition(list)
                ),
                None => writeln!(out, "  {}: {set}", list_condition(list)),
            };
        }
        if let Some(condition) = &provider {
            let _ = writeln!(
                out,
                "  {}: !And [!Condition HasFunctionUrls, !Condition {condition}]",
                url_condition(spec)
            );
        }
    }
    out
}

fn secret_arn(list: &SecretList) -> String {
    format!(
        "!Sub 'arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:${{{}}}-??????'",
        list.parameter
    )
}

/// The API event's name: `Webhook` for the first route, the rest of the route's name for the
/// others (`owlpay-harbor` → `Harbor`).
fn event_name(spec: &ProviderSpec, index: usize, route: &str) -> String {
    if index == 0 {
        return "Webhook".to_string();
    }
    let rest = route
        .strip_prefix(spec.name)
        .map_or(route, |r| r.trim_start_matches('-'));
    rest.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn resources() -> String {
    let mut out = String::new();
    for spec in specs() {
        function(&mut out, spec);
    }
    out.push_str(
        "  # Function URLs (FunctionUrls=true): public, as the API routes are; each receiver verifies\n  \
         # its provider's signature. Since October 2025 a public URL needs both permissions.\n",
    );
    for spec in specs() {
        function_url(&mut out, spec);
    }
    for spec in specs() {
        let name = spec.template_name;
        let _ = write!(
            out,
            "  {name}WebhookLogGroup:\n    Type: AWS::Logs::LogGroup\n{}    Properties:\n      \
             LogGroupName: !Sub '/aws/lambda/${{AWS::StackName}}/{name}Webhook'\n      \
             RetentionInDays: !Ref LogRetentionDays\n\n",
            condition_line(provider_condition(spec).as_deref()),
        );
    }
    out.push_str(
        "  # WebhookAccepted, per provider, counted from each receiver's `webhook accepted` line (which\n  \
         # is written at every log level): an accepted webhook writes that one line and no EMF line.\n  \
         # A metric filter costs nothing per event; an EMF line cost ~200 bytes of ingestion each.\n",
    );
    for spec in specs() {
        let name = spec.template_name;
        let _ = write!(
            out,
            "  {name}WebhookAcceptedMetricFilter:\n    Type: AWS::Logs::MetricFilter\n{}    Properties:\n      \
             LogGroupName: !Ref {name}WebhookLogGroup\n      \
             FilterPattern: '{{ $.message = \"webhook accepted\" }}'\n      \
             MetricTransformations:\n        - MetricNamespace: Hookline\n          \
             MetricName: WebhookAccepted\n          MetricValue: '1'\n          Unit: Count\n          \
             Dimensions:\n            - Key: provider\n              Value: $.provider\n\n",
            condition_line(provider_condition(spec).as_deref()),
        );
    }
    for spec in specs() {
        let _ = write!(
            out,
            "  {}RejectedAlarm:\n    Type: AWS::CloudWatch::Alarm\n{}    Properties:\n      \
             AlarmDescription: {}\n      Namespace: Hookline\n      MetricName: WebhookRejected\n      \
             Dimensions:\n        - Name: provider\n          Value: {}\n      Statistic: Sum\n      \
             Period: 300\n      EvaluationPeriods: 1\n      Threshold: !Ref RejectedPerFiveMinutes\n      \
             ComparisonOperator: GreaterThanThreshold\n      \
             AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref 'AWS::NoValue']\n      \
             OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref 'AWS::NoValue']\n      \
             TreatMissingData: notBreaching\n\n",
            spec.template_name,
            condition_line(provider_condition(spec).as_deref()),
            spec.stack.rejected_alarm,
            spec.name,
        );
    }
    ingest_queue_policy(&mut out);
    dashboard(&mut out);
    out
}

/// Only hookline writes to the ingest queue, since the processor trusts what a message says
/// (`polled`, `replay.reprocess`): the receivers' roles, the poller's and the operators' (when
/// `OperatorRoleArn` is given); and nothing reaches it without TLS.
fn ingest_queue_policy(out: &mut String) {
    out.push_str(
        "  # Only hookline sends to the ingest queue (the processor trusts what a message says: `polled`,\n  \
         # `replay`): every receiver's role, the poller's and the operators' (OperatorRoleArn, for\n  \
         # redrive and replay). Nothing reaches it without TLS.\n  \
         IngestQueuePolicy:\n    Type: AWS::SQS::QueuePolicy\n    Properties:\n      \
         Queues: [!Ref IngestQueue]\n      PolicyDocument:\n        Version: '2012-10-17'\n        \
         Statement:\n          - Sid: OnlyHooklineSends\n            Effect: Deny\n            \
         Principal: '*'\n            Action: sqs:SendMessage\n            \
         Resource: !GetAtt IngestQueue.Arn\n            Condition:\n              ArnNotEquals:\n                \
         aws:PrincipalArn:\n",
    );
    for spec in specs() {
        let role = format!("!GetAtt {}WebhookFunctionRole.Arn", spec.template_name);
        let _ = match provider_condition(spec) {
            Some(condition) => writeln!(
                out,
                "                  - !If [{condition}, {role}, !Ref 'AWS::NoValue']"
            ),
            None => writeln!(out, "                  - {role}"),
        };
    }
    out.push_str(
        "                  - !GetAtt OrderPollerRole.Arn\n                  \
         - !If [HasOperatorRole, !Ref OperatorRoleArn, !Ref 'AWS::NoValue']\n          \
         - Sid: DenyPlainHttp\n            Effect: Deny\n            Principal: '*'\n            \
         Action: 'sqs:*'\n            Resource: !GetAtt IngestQueue.Arn\n            Condition:\n              \
         Bool:\n                aws:SecureTransport: 'false'\n\n",
    );
}

fn function(out: &mut String, spec: &ProviderSpec) {
    let name = spec.template_name;
    let mut variables = String::from("          INGEST_QUEUE_URL: !Ref IngestQueue\n");
    let mut policies = String::new();
    for list in spec.secrets {
        if list.optional {
            let condition = list_condition(list);
            let _ = writeln!(
                variables,
                "          {}: !If [{condition}, !Ref {}, !Ref 'AWS::NoValue']",
                list.id_var(),
                list.parameter
            );
            let _ = write!(
                policies,
                "        - !If\n          - {condition}\n          - AWSSecretsManagerGetSecretValuePolicy:\n              \
                 SecretArn: {}\n          - !Ref 'AWS::NoValue'\n",
                secret_arn(list)
            );
        } else {
            let _ = writeln!(
                variables,
                "          {}: !Ref {}",
                list.id_var(),
                list.parameter
            );
            let _ = write!(
                policies,
                "        - AWSSecretsManagerGetSecretValuePolicy:\n            SecretArn: {}\n",
                secret_arn(list)
            );
        }
    }
    for setting in spec.settings {
        let _ = writeln!(
            variables,
            "          {}: !Ref {}",
            setting.var,
            setting_parameter(setting.var)
        );
    }
    let mut events = String::new();
    for (index, route) in spec.routes.iter().enumerate() {
        let _ = write!(
            events,
            "        {}:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref WebhookApi\n            \
             # ANY, so a wrong method reaches the function and gets a clear 405, not a 404.\n            \
             Method: ANY\n            Path: {}\n            PayloadFormatVersion: '2.0'\n",
            event_name(spec, index, route.name),
            route.path_template(),
        );
    }
    let _ = write!(
        out,
        "  {name}WebhookFunction:\n    Type: AWS::Serverless::Function\n{}    Metadata:\n      \
         BuildMethod: rust-cargolambda\n    Properties:\n      LoggingConfig:\n        \
         LogGroup: !Ref {name}WebhookLogGroup\n      CodeUri: functions/{}-webhook\n      \
         ReservedConcurrentExecutions: !If [ReservesReceiverConcurrency, !Ref ReceiverReservedConcurrency, !Ref 'AWS::NoValue']\n      \
         Description: {}\n      Environment:\n        Variables:\n{variables}      Policies:\n        \
         # Least privilege: read its own secrets, send to the ingest queue (and read its ARN, to\n        \
         # open the connection at init), nothing else.\n        \
         - SQSSendMessagePolicy:\n            QueueName: !GetAtt IngestQueue.QueueName\n        \
         - Statement:\n            \
         # The read that opens the SQS connection during init (shared/src/warm_up.rs).\n            \
         - Sid: WarmUpQueueConnection\n              Effect: Allow\n              \
         Action: sqs:GetQueueAttributes\n              Resource: !GetAtt IngestQueue.Arn\n\
         {policies}      Events:\n{events}\n",
        condition_line(provider_condition(spec).as_deref()),
        spec.name,
        spec.stack.description,
    );
}

fn function_url(out: &mut String, spec: &ProviderSpec) {
    let name = spec.template_name;
    let condition = url_condition(spec);
    let _ = write!(
        out,
        "  {name}WebhookFunctionUrl:\n    Type: AWS::Lambda::Url\n    Condition: {condition}\n    Properties:\n      \
         TargetFunctionArn: !GetAtt {name}WebhookFunction.Arn\n      AuthType: NONE\n  \
         {name}WebhookFunctionUrlPublic:\n    Type: AWS::Lambda::Permission\n    Condition: {condition}\n    \
         Properties:\n      FunctionName: !Ref {name}WebhookFunction\n      \
         Action: lambda:InvokeFunctionUrl\n      Principal: '*'\n      FunctionUrlAuthType: NONE\n  \
         {name}WebhookFunctionUrlInvoke:\n    Type: AWS::Lambda::Permission\n    Condition: {condition}\n    \
         Properties:\n      FunctionName: !Ref {name}WebhookFunction\n      \
         Action: lambda:InvokeFunction\n      Principal: '*'\n      InvokedViaFunctionUrl: true\n\n",
    );
}

/// The provider names whose metrics a route's events carry (a per-source route's carry one per
/// source, which the dashboard cannot list).
fn exact_names(spec: &ProviderSpec) -> Vec<&'static str> {
    spec.routes
        .iter()
        .filter_map(|route| match route.events {
            EventNames::Exactly(name) => Some(name),
            EventNames::Prefixed(_) => None,
        })
        .collect()
}

fn metric_lines(metrics: &[(&str, &str)], extra: &str) -> String {
    metrics
        .iter()
        .map(|(metric, provider)| {
            format!("[\"Hookline\", \"{metric}\", \"provider\", \"{provider}\"{extra}]")
        })
        .collect::<Vec<_>>()
        .join(",\n                          ")
}

fn widget(x: u32, y: u32, width: u32, title: &str, stat: &str, metrics: &str) -> String {
    format!(
        "    {{\"type\": \"metric\", \"x\": {x}, \"y\": {y}, \"width\": {width}, \"height\": 6, \"properties\": {{\n      \
         \"title\": \"{title}\", \"region\": \"${{AWS::Region}}\",{stat} \"period\": 60,\n      \
         \"metrics\": [{metrics}]}}}}"
    )
}

fn dashboard(out: &mut String) {
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    let mut latency = Vec::new();
    for spec in specs() {
        for name in exact_names(spec) {
            accepted.push(("WebhookAccepted", name));
            latency.push(("ProcessingLatencyMs", name));
        }
        rejected.push(("WebhookRejected", spec.name));
        rejected.push(("UnknownEventType", spec.name));
    }
    let sum = " \"stat\": \"Sum\",";
    let mut widgets = vec![
        widget(
            0,
            0,
            12,
            "Webhooks accepted",
            sum,
            &metric_lines(&accepted, ""),
        ),
        widget(
            12,
            0,
            12,
            "Ingest queue: depth and age of oldest",
            " \"stat\": \"Maximum\",",
            "[\"AWS/SQS\", \"ApproximateNumberOfMessagesVisible\", \"QueueName\", \"${Ingest}\"],\n                          \
             [\"AWS/SQS\", \"ApproximateAgeOfOldestMessage\", \"QueueName\", \"${Ingest}\", {\"yAxis\": \"right\"}],\n                          \
             [\"AWS/SQS\", \"ApproximateNumberOfMessagesVisible\", \"QueueName\", \"${IngestDlq}\"],\n                          \
             [\"AWS/SQS\", \"ApproximateNumberOfMessagesVisible\", \"QueueName\", \"${UpdatesDlq}\"]",
        ),
        widget(
            0,
            6,
            12,
            "Webhooks rejected, unknown event types",
            sum,
            &metric_lines(&rejected, ""),
        ),
        widget(
            12,
            6,
            12,
            "Processing latency per record (ms), p99",
            "",
            &metric_lines(&latency, ", {\"stat\": \"p99\"}"),
        ),
    ];
    let mut y = 12;
    let mut x = 0;
    for spec in specs() {
        let mut metrics = Vec::new();
        for name in exact_names(spec).into_iter().take(1) {
            for metric in [
                "EventProcessed",
                "DuplicateSkipped",
                "ProcessingFailed",
                "FetchFailed",
                "EventConflict",
            ] {
                metrics.push((metric, name));
            }
        }
        for name in exact_names(spec) {
            for metric in spec.stack.route_metrics {
                metrics.push((*metric, name));
            }
        }
        if metrics.is_empty() {
            // A per-source route: processing is counted per source.
            metrics.push(("ProcessingFailed", spec.name));
        }
        let title = format!(
            "Processing ({}): processed, duplicates, failures, conflicts",
            spec.name
        );
        widgets.push(widget(x, y, 12, &title, sum, &metric_lines(&metrics, "")));
        (x, y) = if x == 0 { (12, y) } else { (0, y + 6) };
    }
    let watched: Vec<(&str, &str)> = specs()
        .filter(|spec| spec.watch.is_some())
        .flat_map(|spec| {
            [
                "OrdersPolled",
                "StatusChangesFound",
                "WatchesSettled",
                "WatchesGivenUp",
                "WatchesOrderNotFound",
                "PollFailed",
            ]
            .map(|metric| (metric, spec.name))
        })
        .collect();
    if !watched.is_empty() {
        let y = if x == 0 { y } else { y + 6 };
        widgets.push(widget(
            0,
            y,
            24,
            "Order poller: polled, changes found, settled, given up, order not found, failed",
            sum,
            &metric_lines(&watched, ""),
        ));
    }
    let body = widgets.join(",\n").replace('\n', "\n          ");
    let _ = write!(
        out,
        "  # Every receiver's row comes from the provider registry (`hookline template`).\n  \
         Dashboard:\n    Type: AWS::CloudWatch::Dashboard\n    Properties:\n      \
         DashboardName: !Sub '${{AWS::StackName}}-hookline'\n      DashboardBody: !Sub\n        - |\n          \
         {{\"widgets\": [\n          {body}\n          ]}}\n        \
         - Ingest: !GetAtt IngestQueue.QueueName\n          \
         IngestDlq: !GetAtt IngestDeadLetterQueue.QueueName\n          \
         UpdatesDlq: !GetAtt OrderUpdatesDeadLetterQueue.QueueName\n\n",
    );
}

fn outputs() -> String {
    let mut out = String::new();
    for spec in specs() {
        let Some(route) = spec.routes.first() else {
            continue;
        };
        let template = route.path_template();
        // A route with a path parameter gives the URL up to it: a prefix.
        let (path, suffix) = match template.find('{') {
            Some(at) => (&template[..at], "Prefix"),
            None => (template, ""),
        };
        let name = spec.template_name;
        let _ = write!(
            out,
            "  {name}DirectWebhookUrl{suffix}:\n    Condition: {}\n    \
             Description: The receiver's function URL (FunctionUrls=true), an alternative to the API's.\n    \
             Value: !Sub '${{{name}WebhookFunctionUrl.FunctionUrl}}{}'\n",
            url_condition(spec),
            path.trim_start_matches('/'),
        );
        let _ = write!(
            out,
            "  {name}WebhookUrl{suffix}:\n{}    Description: {}\n    \
             Value: !Sub 'https://${{WebhookApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}{path}'\n",
            condition_line(provider_condition(spec).as_deref()),
            spec.stack.url_hint,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed template is what the registry gives (CI's generated-files check runs the
    /// command too; this fails `cargo test` first).
    #[test]
    fn the_committed_template_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
        let text = std::fs::read_to_string(path).expect("template.yaml");
        let filled = fill(&text).expect("every region's markers");
        assert!(
            filled == text,
            "template.yaml is not what the provider registry gives: run `hookline template --write`"
        );
    }

    #[test]
    fn a_missing_marker_is_named() {
        let error = fill("Resources:\n").expect_err("no markers");
        assert!(
            error.contains("# >>> generated: receiver parameters"),
            "{error}"
        );
    }

    #[test]
    fn descriptions_wrap_under_their_indent() {
        let text = "word ".repeat(40);
        let folded = folded(&text, 6);
        assert!(
            folded
                .lines()
                .skip(1)
                .all(|line| line.len() <= 100 && line.starts_with("      word"))
        );
        assert_eq!(folded.split_whitespace().count(), 41);
    }
}
