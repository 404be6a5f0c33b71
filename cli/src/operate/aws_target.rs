//! Which AWS the operator commands talk to: the real one (credentials and region from the
//! environment, as the AWS CLI), or a local emulator with `--endpoint-url`.

use clap::Args;
use hookline::aws::SdkConfig;

#[derive(Args, Clone, Debug)]
pub struct AwsTarget {
    /// A local emulator (e.g. http://127.0.0.1:5000) instead of AWS; uses test credentials.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

impl AwsTarget {
    pub async fn sdk_config(&self) -> SdkConfig {
        match &self.endpoint_url {
            Some(url) => hookline::aws::for_emulator(url).await,
            None => hookline::aws::from_env().await,
        }
    }

    /// [`sdk_config`](Self::sdk_config) when the command will talk to AWS; otherwise one that
    /// resolves nothing, so a command on local files looks up no credentials, region or instance
    /// metadata (IMDS).
    pub async fn config_if(&self, needed: bool) -> SdkConfig {
        match needed || self.endpoint_url.is_some() {
            true => self.sdk_config().await,
            false => hookline::aws::offline(),
        }
    }
}
