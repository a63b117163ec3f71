//! `memtune patch` and `memtune check`: golden files per template format (library), and the
//! binary end to end with a RUN.json serialised from memtune's own report types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use memtune::fleet::budget::BudgetStats;
use memtune::fleet::outcome::{FleetRun, FunctionResult, RunTotals, FLEET_SCHEMA_VERSION};
use memtune::iac::levels;
use memtune::iac::matching::{assign, Assignment, Mapping};
use memtune::iac::plan::{plan_all, Wanted};
use memtune::iac::run::Recommendation;
use memtune::iac::template::{Format, Kind, Template};
use memtune::platform::FunctionConfig;
use memtune::tune::document::{
    Current, ExplorationInfo, FunctionDocument, FunctionInfo, RecommendationInfo, StrategyInfo,
    SCHEMA_VERSION,
};

// ---------------------------------------------------------------------------------------------
// Golden files: tests/golden/patch/<case>/{input/, expected/, summary.txt, and what to write:
// recommendations.toml (memory, as a run gives it) and/or levels.toml (`provisioned = [...]`,
// `reserved = [...]`, as --provisioned and --reserved take them); mapping.toml when the case
// needs one}.
// MEMTUNE_BLESS=1 rewrites expected/ and summary.txt (review the diff before committing).

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/patch")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[derive(serde::Deserialize, Default)]
struct Levels {
    #[serde(default)]
    provisioned: Vec<String>,
    #[serde(default)]
    reserved: Vec<String>,
}

/// Every setting a case asks for, matched to its templates.
fn wanted(
    dir: &Path,
    templates: &[Template],
    mapping: &Mapping,
) -> Vec<(Kind, Assignment, BTreeMap<String, String>)> {
    let mut wanted = Vec::new();
    if let Ok(text) = std::fs::read_to_string(dir.join("recommendations.toml")) {
        let recs: BTreeMap<String, u32> = toml::from_str(&text).unwrap();
        let recs: Vec<Recommendation> = recs
            .into_iter()
            .map(|(function, mb)| Recommendation::new(&function, mb))
            .collect();
        wanted.push((
            Kind::Memory,
            assign(templates, &recs, mapping),
            BTreeMap::new(),
        ));
    }
    let given: Levels = std::fs::read_to_string(dir.join("levels.toml"))
        .map_or(Levels::default(), |text| toml::from_str(&text).unwrap());
    for (kind, given) in [
        (Kind::Provisioned, given.provisioned),
        (Kind::Reserved, given.reserved),
    ] {
        if given.is_empty() {
            continue;
        }
        let levels = levels::parse(kind, &given).unwrap();
        let aliases = levels
            .iter()
            .filter_map(|l| Some((l.function.clone(), l.alias.clone()?)))
            .collect();
        let recs = levels::recommendations(&levels);
        wanted.push((kind, assign(templates, &recs, mapping), aliases));
    }
    assert!(!wanted.is_empty(), "{}: nothing to write", dir.display());
    wanted
}

fn plan_case(
    templates: &[Template],
    wanted: &[(Kind, Assignment, BTreeMap<String, String>)],
) -> memtune::iac::plan::Plan {
    let wanted: Vec<Wanted> = wanted
        .iter()
        .map(|(kind, assignment, aliases)| Wanted {
            kind: *kind,
            assignment,
            aliases,
        })
        .collect();
    plan_all(templates, &wanted).unwrap()
}

fn golden_case(case: &str) {
    let dir = golden_root().join(case);
    let templates: Vec<Template> = files_in(&dir.join("input"))
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join("input").join(&name)).unwrap();
            memtune::iac::parse(Path::new(&name), text).unwrap()
        })
        .collect();
    let mapping = std::fs::read_to_string(dir.join("mapping.toml"))
        .map_or(Mapping::default(), |text| Mapping::parse(&text).unwrap());
    let plan = plan_case(&templates, &wanted(&dir, &templates, &mapping));
    let bless = std::env::var_os("MEMTUNE_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(dir.join("expected")).unwrap();
        std::fs::write(dir.join("summary.txt"), plan.summary()).unwrap();
    }
    assert_eq!(
        plan.summary(),
        std::fs::read_to_string(dir.join("summary.txt")).unwrap(),
        "{case}: summary"
    );
    for t in &templates {
        let after = plan
            .files
            .iter()
            .find(|f| f.path == t.path)
            .map_or(t.text.clone(), |f| f.after.clone());
        let expected_path = dir.join("expected").join(&t.path);
        if bless {
            std::fs::write(&expected_path, &after).unwrap();
        }
        assert_eq!(
            after,
            std::fs::read_to_string(&expected_path).unwrap(),
            "{case}: {}",
            t.path.display()
        );
        still_parses(t.format, &after, case);
        only_setting_lines_differ(t.format, &t.text, &after, case);
        // Patching the result again changes nothing.
        let again = vec![memtune::iac::parse(&t.path, after.clone()).unwrap()];
        let replan = plan_case(&again, &wanted(&dir, &again, &mapping));
        assert!(
            replan.files.is_empty(),
            "{case}: a second patch still changes {:?}",
            replan.summary()
        );
    }
}

/// Parsed by the format's parser directly (JSON by serde_json), not through memtune's reading.
fn still_parses(format: Format, text: &str, case: &str) {
    match format {
        Format::CloudFormationJson => {
            serde_json::from_str::<serde_json::Value>(text)
                .unwrap_or_else(|e| panic!("{case}: patched JSON does not parse: {e}"));
        }
        Format::Terraform => {
            hcl_edit::parser::parse_body(text)
                .unwrap_or_else(|e| panic!("{case}: patched HCL does not parse: {e}"));
        }
        Format::CloudFormationYaml | Format::Serverless => {
            for event in saphyr_parser::Parser::new_from_str(text) {
                event.unwrap_or_else(|e| panic!("{case}: patched YAML does not parse: {e}"));
            }
        }
    }
}

/// Every changed or added line holds a setting memtune writes (or, for SAM, the alias and
/// the map provisioned concurrency needs).
fn only_setting_lines_differ(format: Format, before: &str, after: &str, case: &str) {
    let mut keys: Vec<&str> = [Kind::Memory, Kind::Provisioned, Kind::Reserved]
        .into_iter()
        .map(|kind| format.key(kind))
        .collect();
    keys.extend(["AutoPublishAlias", "ProvisionedConcurrencyConfig"]);
    // A new Terraform config resource.
    if format == Format::Terraform {
        keys.extend([
            "resource \"aws_lambda_provisioned_concurrency_config\"",
            "function_name",
            "qualifier",
        ]);
    }
    let new_block_edge =
        |line: &str| format == Format::Terraform && ["}", ""].contains(&line.trim());
    let diff = similar::TextDiff::from_lines(before, after);
    // A line that changes is removed and added again: the added text holds the setting.
    for change in diff.iter_all_changes() {
        if change.tag() == similar::ChangeTag::Insert {
            assert!(
                keys.iter().any(|key| change.value().contains(key))
                    || new_block_edge(change.value()),
                "{case}: a line without {keys:?} changed: {:?}",
                change.value()
            );
        }
    }
    // Lines change or are added, never removed.
    let removed = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
        .count();
    let added = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Insert)
        .count();
    assert!(removed <= added, "{case}: lines were removed");
}

#[test]
fn golden_sam_intrinsics_anchors_comments() {
    golden_case("sam-intrinsics-anchors");
}

#[test]
fn golden_sam_globals_some_functions_get_an_override() {
    golden_case("sam-globals-override");
}

#[test]
fn golden_sam_globals_change_when_all_inheritors_agree() {
    golden_case("sam-globals-all");
}

#[test]
fn golden_cloudformation_json_template() {
    golden_case("cloudformation-json");
}

#[test]
fn golden_serverless_provider_and_custom_variable() {
    golden_case("serverless-provider");
}

#[test]
fn golden_serverless_provider_changes_when_all_agree() {
    golden_case("serverless-provider-all");
}

#[test]
fn golden_terraform_literal_var_module_and_added_line() {
    golden_case("terraform");
}

#[test]
fn golden_serverless_provisioned_and_reserved_concurrency() {
    golden_case("serverless-concurrency");
}

#[test]
fn golden_sam_provisioned_concurrency_with_auto_publish_alias() {
    golden_case("sam-concurrency");
}

#[test]
fn golden_terraform_concurrency() {
    golden_case("terraform-concurrency");
}

#[test]
fn golden_cloudformation_alias_provisioned_concurrency() {
    golden_case("cloudformation-alias");
}

#[test]
fn every_golden_case_has_a_test() {
    let cases = files_in(&golden_root());
    let this = include_str!("patch.rs");
    for case in cases {
        assert!(
            this.contains(&format!("golden_case(\"{case}\")")),
            "{case} is not tested"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The binary, with RUN.json from memtune's own types.

fn document(name: &str, current_mb: u32, recommended_mb: Option<u32>) -> FunctionDocument {
    FunctionDocument {
        schema_version: SCHEMA_VERSION,
        run_id: "20260101-0000-test".into(),
        generated_at: "2026-01-01T00:00:00Z".into(),
        function: FunctionInfo {
            name: name.into(),
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            runtime: Some("python3.12".into()),
            architecture: "x86_64".into(),
            region: "us-east-1".into(),
            timeout_s: 30,
            stack_name: None,
        },
        strategy: StrategyInfo {
            name: "cost".into(),
            objective: "cost".into(),
        },
        search: "adaptive".into(),
        current: Current {
            memory_mb: current_mb,
            cost_per_invocation_usd: None,
            p99_ms: None,
            unsafe_reasons: vec![],
        },
        recommendation: recommended_mb.map(|mb| RecommendationInfo {
            memory_mb: mb,
            reason: "cheapest feasible".into(),
            band_mb: vec![mb],
            cost_per_invocation_usd: 1e-6,
            cost_per_million_usd: 1.0,
            p99_ms: Some(100.0),
            cost_change_pct: Some(-10.0),
            latency_change_pct: Some(5.0),
            slo_met: None,
            slo: None,
            monthly_savings_usd: None,
            estimate: memtune::strategy::Estimate::Measured,
            decision_cost_per_million_usd: None,
            tradeoff: None,
            latency_guard: None,
            held_back: None,
            predicted_optimum_note: None,
        }),
        no_recommendation: recommended_mb
            .is_none()
            .then(|| "every size ran out of memory".into()),
        sizes: vec![],
        fit: None,
        exploration: ExplorationInfo {
            invocations: 40,
            gb_seconds: 1.0,
            usd: 0.0001,
            platform_failures: 0,
        },
        restored: "memory 512 MB".into(),
        warnings: vec![],
        production: None,
        payload: Default::default(),
        architectures: None,
    }
}

/// A fleet run as `memtune fleet --format json` writes it.
fn fleet_run_json(functions: &[(&str, u32, Option<u32>)]) -> String {
    let results: Vec<FunctionResult> = functions
        .iter()
        .map(|(name, current, rec)| {
            FunctionResult::tuned(
                FunctionConfig::sample(name, *current),
                document(name, *current, *rec),
            )
        })
        .chain([FunctionResult::skipped(
            FunctionConfig::sample("skipped-fn", 128),
            "no traffic",
        )])
        .collect();
    serde_json::to_string_pretty(&FleetRun {
        schema_version: FLEET_SCHEMA_VERSION,
        run_id: "20260101-0000-test".into(),
        region: "us-east-1".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        listed: results.len(),
        totals: RunTotals::of(&results, 1.0),
        budget: BudgetStats {
            ceiling: 10,
            limit: 10,
            lowest: 10,
            throttles: 0,
        },
        functions: results,
        capacity: Vec::new(),
    })
    .unwrap()
}

const SAM: &str = "\
Globals:
  Function:
    MemorySize: 512 # shared
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: orders-api
      MemorySize: 256 # tuned
      Handler: app.handler
  Report:
    Type: AWS::Serverless::Function
    Properties:
      Handler: report.handler
";

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(run_json: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("run.json"), run_json).unwrap();
        std::fs::write(dir.path().join("template.yaml"), SAM).unwrap();
        Workspace { dir }
    }

    fn memtune(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_memtune"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn template(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("template.yaml")).unwrap()
    }
}

fn fleet() -> String {
    fleet_run_json(&[
        ("orders-api", 256, Some(1024)),
        ("stack-Report-ABC", 512, Some(768)),
        ("elsewhere", 128, Some(256)),
        ("oom", 128, None),
    ])
}

#[test]
fn patch_summarises_diffs_and_writes_from_a_fleet_run() {
    let ws = Workspace::new(&fleet());
    let (code, out, err) = ws.memtune(&["patch", "--from", "run.json", "template.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("template.yaml:9 Orders (orders-api): 256 -> 1024 MB\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "template.yaml:3 Globals.Function.MemorySize (stack-Report-ABC): 512 -> 768 MB\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("unmatched: elsewhere (recommended 256 MB)"),
        "{out}"
    );
    assert!(
        out.contains("2 functions in the run have no recommendation"),
        "{out}"
    );
    assert_eq!(ws.template(), SAM, "no --write: nothing changes");

    let (code, diff, _) = ws.memtune(&["patch", "--from", "run.json", "--diff", "template.yaml"]);
    assert_eq!(code, 0);
    assert!(
        diff.starts_with("--- a/template.yaml\n+++ b/template.yaml\n"),
        "{diff}"
    );
    assert!(
        diff.contains("-    MemorySize: 512 # shared\n+    MemorySize: 768 # shared\n"),
        "{diff}"
    );
    assert!(
        diff.contains("-      MemorySize: 256 # tuned\n+      MemorySize: 1024 # tuned\n"),
        "{diff}"
    );

    let (code, _, err) = ws.memtune(&["patch", "--from", "run.json", "--write", "."]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        ws.template(),
        SAM.replace("512 # shared", "768 # shared")
            .replace("256 # tuned", "1024 # tuned")
    );
    // run.json in the directory is not a template: skipped, not an error.
    assert!(err.contains("wrote 1 files (2 changes)"), "{err}");
}

#[test]
fn patch_reads_a_single_recommend_document_and_a_mapping() {
    let doc = serde_json::to_string(&document("legacy-orders", 256, Some(2048))).unwrap();
    let ws = Workspace::new(&doc);
    std::fs::write(
        ws.dir.path().join("map.toml"),
        "\"legacy-orders\" = \"template.yaml:Report\"\n",
    )
    .unwrap();
    let (code, out, err) = ws.memtune(&[
        "patch",
        "--from",
        "run.json",
        "--mapping",
        "map.toml",
        "template.yaml",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Globals.Function.MemorySize (legacy-orders): 512 -> 2048 MB"),
        "{out}"
    );
}

#[test]
fn check_passes_within_tolerance_and_fails_beyond() {
    let ws = Workspace::new(&fleet_run_json(&[
        ("orders-api", 256, Some(270)),
        ("stack-Report-ABC", 512, Some(512)),
    ]));
    let (code, out, err) = ws.memtune(&["check", "--from", "run.json", "template.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("All 2 matched functions are within 10%"),
        "{out}"
    );

    let ws = Workspace::new(&fleet());
    let (code, out, err) = ws.memtune(&[
        "check",
        "--from",
        "run.json",
        "--tolerance-pct",
        "50",
        "template.yaml",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("| function | resource | template MB | recommended MB | difference |"),
        "{out}"
    );
    assert!(
        out.contains("| orders-api | `Orders` (template.yaml:9) | 256 | 1024 | +300.0% |"),
        "{out}"
    );
    // 512 -> 768 is +50%: not beyond a 50% tolerance.
    assert!(!out.contains("| stack-Report-ABC"), "{out}");
    assert!(err.contains("more than 50%"), "{err}");
}

#[test]
fn bad_input_exits_2_with_one_line_and_changes_nothing() {
    let ws = Workspace::new(&fleet());
    std::fs::write(ws.dir.path().join("broken.yaml"), "Resources:\n  A: [1,\n").unwrap();
    std::fs::write(ws.dir.path().join("other.json"), "{\"x\": 1}").unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["patch", "--from", "missing.json", "template.yaml"],
            "--from missing.json: cannot read",
        ),
        (
            &["patch", "--from", "template.yaml", "template.yaml"],
            "--from template.yaml: not JSON",
        ),
        (
            &[
                "patch",
                "--from",
                "run.json",
                "--write",
                "template.yaml",
                "broken.yaml",
            ],
            "broken.yaml:",
        ),
        (
            &["check", "--from", "run.json", "nope.tf"],
            "nope.tf: cannot read",
        ),
        (
            &[
                "check",
                "--from",
                "run.json",
                "--mapping",
                "other.json",
                "template.yaml",
            ],
            "--mapping other.json",
        ),
    ];
    for (args, message) in cases {
        let (code, _, err) = ws.memtune(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.starts_with("memtune: ") && err.contains(message),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(ws.template(), SAM);
}

/// `FunctionName: !Sub "orders-api"` is a literal; `!Sub "${AWS::StackName}-orders"` is the
/// deployed name once the run knows the stack (the function's `aws:cloudformation:stack-name`
/// tag, recorded as `function.stack_name`). Without the stack it stays unmatched.
#[test]
fn sub_names_match_literals_and_the_recorded_stack() {
    let template = "\
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub \"orders-api\"
      MemorySize: 256
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub \"${AWS::StackName}-orders\"
      MemorySize: 512
";
    let mut api = document("orders-api", 256, Some(1024));
    let mut orders = document("shop-orders", 512, Some(768));
    orders.function.stack_name = Some("shop".into());
    let ws = Workspace::new(&serde_json::to_string(&vec![api.clone(), orders.clone()]).unwrap());
    std::fs::write(ws.dir.path().join("template.yaml"), template).unwrap();
    let (code, _, stderr) =
        ws.memtune(&["patch", "--from", "run.json", "--write", "template.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    let patched = ws.template();
    assert!(
        patched.contains("-orders\"\n      MemorySize: 768\n"),
        "{patched}"
    );
    assert!(
        patched.contains("\"orders-api\"\n      MemorySize: 1024\n"),
        "{patched}"
    );

    // A run that did not read the stack cannot resolve the expression.
    orders.function.stack_name = None;
    api.function.name = "other".into();
    std::fs::write(ws.dir.path().join("template.yaml"), template).unwrap();
    std::fs::write(
        ws.dir.path().join("run.json"),
        serde_json::to_string(&vec![api, orders]).unwrap(),
    )
    .unwrap();
    let (_, stdout, stderr) = ws.memtune(&["patch", "--from", "run.json", "template.yaml"]);
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("shop-orders"), "{all}");
    assert!(
        all.contains("template.yaml:Orders named by an expression"),
        "{all}"
    );
}

/// Levels from the command line, no run: written into the SAM template, with the alias SAM
/// needs; a bad level is one line and exit 2 before any file is read.
#[test]
fn patch_writes_given_concurrency_levels_and_rejects_bad_ones() {
    let ws = Workspace::new("not a run");
    let (code, out, err) = ws.memtune(&[
        "patch",
        "--provisioned",
        "orders-api=5",
        "--reserved",
        "orders-api=50",
        "--write",
        "template.yaml",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Orders (orders-api): provisioned concurrency 5 (added; also added AutoPublishAlias: live"),
        "{out}"
    );
    assert!(err.contains("wrote 1 files (2 changes)"), "{err}");
    assert_eq!(
        ws.template(),
        SAM.replace(
            "      FunctionName: orders-api\n",
            "      AutoPublishAlias: live\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 5\n      ReservedConcurrentExecutions: 50\n      FunctionName: orders-api\n"
        )
    );
    let written = ws.template();
    let cases: [(&[&str], &str); 4] = [
        (
            &["patch", "--provisioned", "orders-api", "template.yaml"],
            "--provisioned orders-api: write FN[:ALIAS]=N",
        ),
        (
            &[
                "patch",
                "--provisioned",
                "orders-api=0",
                "--write",
                "template.yaml",
            ],
            "at least 1",
        ),
        (
            &[
                "patch",
                "--reserved",
                "orders-api:live=3",
                "--write",
                "template.yaml",
            ],
            "set on the function, not an alias",
        ),
        (
            &[
                "patch",
                "--reserved",
                "a=1",
                "--reserved",
                "a=2",
                "missing.yaml",
            ],
            "a is given twice",
        ),
    ];
    for (args, message) in cases {
        let (code, _, err) = ws.memtune(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.starts_with("memtune: ") && err.contains(message),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(ws.template(), written);
}
