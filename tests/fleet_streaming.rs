//! A fleet run keeps no function's result once it has finished: each is in the history by the
//! time the run tells of it, the run hands back only its totals, and the report is rendered
//! from the history, in the run's order.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use memtune::fleet::config::FleetConfig;
use memtune::fleet::outcome::{RunTotals, Status};
use memtune::fleet::run::{Progress, RunSettings};
use memtune::history::History;
use memtune::orchestrate::{self, Event, OnEvent, RunInputs};
use memtune::platform::aws::AwsLambda;
use memtune_facts::pricing::PriceBook;
use memtune_lab::profiles::ProfileSet;
use memtune_lab::{synthetic, LabConfig};

const FUNCTIONS: usize = 40;

/// What the run told as it went: each finished function's name and whether the history held
/// it already, and the functions the plan left out.
#[derive(Default)]
struct Told {
    finished: Vec<(usize, String, bool)>,
    not_tuned: Vec<(usize, String)>,
}

#[tokio::test(flavor = "multi_thread")]
async fn each_result_is_in_the_history_when_told_and_the_report_is_read_back_in_order() {
    let mut lab_config = LabConfig::new(ProfileSet {
        functions: synthetic::generate(FUNCTIONS, 3),
        ..ProfileSet::default()
    });
    lab_config.seed = 3;
    let lab = common::start_lab_with(lab_config).await;
    let sdk = common::sdk_config(&lab.endpoint()).await;
    let api = AwsLambda::new(&sdk);
    let book = PriceBook::builtin();
    // Two functions are left out by the plan: they are recorded too, after the tuned ones.
    let config = FleetConfig::parse(
        "[select]\nexclude = [\"synthetic-0001\", \"synthetic-0002\"]\n\
         [tuning]\nallow_empty_payload = true\nsizes = [512, 1024]\ninvocations = 3\n\
         warmup = 0\n[limits]\nconcurrent_functions = 3\n",
        "streaming.toml",
        None,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let settings = RunSettings::for_config(
        &config,
        "run-streaming".into(),
        "us-east-1".into(),
        state.clone(),
        Some(lab.endpoint()),
    );
    let told = Arc::new(Mutex::new(Told::default()));
    let on_event: OnEvent = {
        let (told, state) = (told.clone(), state.clone());
        Arc::new(move |event: Event| match event {
            Event::Progress(Progress::Finished { position, result }) => {
                let stored = in_history(&state, &result.function);
                let mut told = told.lock().unwrap();
                told.finished
                    .push((position, result.function.clone(), stored));
            }
            Event::Progress(Progress::NotTuned { position, result }) => {
                let mut told = told.lock().unwrap();
                told.not_tuned.push((position, result.function.clone()));
            }
            _ => {}
        })
    };
    let inputs = RunInputs {
        sdk: &sdk,
        api: &api,
        book: &book,
        config: &config,
        config_path: Path::new("streaming.toml"),
        production_days: None,
    };
    let history = History::open(&state).unwrap();
    let finished = orchestrate::run(
        &inputs,
        settings,
        Some(history),
        on_event,
        std::future::pending(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    lab.stop().await;

    let told = told.lock().unwrap();
    assert_eq!(told.finished.len(), FUNCTIONS - 2);
    assert!(
        told.finished.iter().all(|(_, _, stored)| *stored),
        "every function is in the history before the run tells of it"
    );
    assert_eq!(finished.run.totals.functions, FUNCTIONS);
    assert_eq!(finished.run.totals.skipped, 2);

    // The report, read back from the history: every function once, the tuned ones in the
    // order of their positions (the run's priority order), then the two left out.
    let run = finished.fleet_run().unwrap();
    let mut by_position = told.finished.clone();
    by_position.sort();
    let mut expected: Vec<String> = by_position.into_iter().map(|(_, name, _)| name).collect();
    expected.extend(told.not_tuned.iter().map(|(_, name)| name.clone()));
    let names: Vec<String> = run.functions.iter().map(|r| r.function.clone()).collect();
    assert_eq!(names, expected);
    let finish_order: Vec<&String> = told.finished.iter().map(|(_, name, _)| name).collect();
    assert_ne!(
        finish_order,
        names.iter().take(FUNCTIONS - 2).collect::<Vec<_>>(),
        "with 3 at once some function finishes out of order, so the order is the history's"
    );
    // Nothing was lost on the way: the rows add up to the totals the run counted.
    let counted = RunTotals::of(&run.functions, 0.0);
    let t = &finished.run.totals;
    assert_eq!(
        (counted.recommended, counted.failed, counted.invocations),
        (t.recommended, t.failed, t.invocations)
    );
    // Each is read back whole: its configuration (not in the JSON), and a document where it
    // was recommended.
    assert!(run
        .functions
        .iter()
        .all(|r| r.config.arn.ends_with(&format!(":function:{}", r.function))));
    assert!(run
        .functions
        .iter()
        .filter(|r| r.status == Status::Recommended)
        .all(|r| r.document.is_some()));
    assert!(counted.recommended > FUNCTIONS / 2);

    // `memtune report --run` renders the same run from the history file.
    let reopened = History::open(&state).unwrap();
    let again = reopened.fleet_run("run-streaming").unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(&run).unwrap()
    );
}

/// Whether the history file in `state` holds the function (a connection of its own).
fn in_history(state: &Path, name: &str) -> bool {
    let history = History::open(state).unwrap();
    history
        .results("run-streaming")
        .unwrap()
        .iter()
        .any(|r| r.function == name)
}
