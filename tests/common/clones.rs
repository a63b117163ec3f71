//! A lab and a state directory for `--isolate clone` runs through the real binary, and the
//! copies a run may have left in the lab.

use std::process::Output;

use memtune_lab::{LabConfig, LabServer};

pub struct CloneEnv {
    pub lab: LabServer,
    pub state: tempfile::TempDir,
}

impl CloneEnv {
    pub async fn start(config: LabConfig) -> CloneEnv {
        CloneEnv {
            lab: super::start_lab_with(config).await,
            state: tempfile::tempdir().unwrap(),
        }
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = super::memtune(&self.lab.endpoint(), self.state.path(), args);
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.unwrap()
    }

    /// Every function whose name says it is a memtune copy.
    pub async fn copies(&self) -> Vec<String> {
        let client = super::lambda_client(&self.lab.endpoint()).await;
        let listed = client.list_functions().send().await.unwrap();
        listed
            .functions()
            .iter()
            .filter_map(|f| f.function_name())
            .filter(|n| n.contains("-memtune-clone-"))
            .map(str::to_string)
            .collect()
    }
}
