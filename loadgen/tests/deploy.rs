//! The deployment files: `deploy/kubernetes/*.yaml` validate against the Kubernetes schemas
//! (`kubernetes-validate`, offline, strict), the `Dockerfile` passes hadolint (docker itself is not
//! on the test machines), and the Indexed Job's container command, run three times locally with
//! `JOB_COMPLETION_INDEX` set exactly as the manifest says, merges into one run.

mod common;

use std::{collections::HashMap, path::PathBuf, process::Command, time::Duration};

use serde_json::Value;

fn manifests() -> Vec<PathBuf> {
    let dir = common::workspace().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("deploy/kubernetes exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Every document of a YAML file, as JSON (through the venv's PyYAML).
fn documents(path: &std::path::Path) -> Vec<Value> {
    let out = Command::new(common::pyenv_bin("python"))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{} is not YAML: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from python")
}

#[test]
fn the_manifests_validate_against_the_kubernetes_schemas() {
    let files = manifests();
    assert!(
        files.len() >= 2,
        "the Job and the mock-server manifests: {files:?}"
    );
    let out = Command::new(common::pyenv_bin("kubernetes-validate"))
        .arg("--strict")
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    assert!(
        out.status.success(),
        "kubernetes-validate --strict: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let kinds: Vec<String> = files
        .iter()
        .flat_map(|file| documents(file))
        .map(|doc| doc["kind"].as_str().unwrap_or("?").to_owned())
        .collect();
    for kind in ["Job", "Deployment", "Service"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "a {kind} is deployed: {kinds:?}"
        );
    }
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let out = Command::new(common::pyenv_bin("hadolint"))
        .arg(common::workspace().join("Dockerfile"))
        .output()
        .expect("hadolint runs");
    assert!(
        out.status.success(),
        "hadolint Dockerfile: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Job's one container: command + args, env as the kubelet would set it, and completions.
struct JobCommand {
    argv: Vec<String>,
    env: HashMap<String, String>,
    completions: usize,
}

fn job_command(local: &HashMap<&str, String>) -> JobCommand {
    let path = common::workspace().join("deploy/kubernetes/loadgen-job.yaml");
    let job = documents(&path)
        .into_iter()
        .find(|doc| doc["kind"] == "Job")
        .expect("the file holds the Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed", "an Indexed Job");
    let completions = job["spec"]["completions"].as_u64().expect("completions") as usize;
    assert_eq!(
        job["spec"]["parallelism"], completions,
        "every worker runs at once"
    );
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let mut env = HashMap::new();
    for var in container["env"].as_array().expect("env") {
        let name = var["name"].as_str().unwrap().to_owned();
        let value = if let Some(value) = var["value"].as_str() {
            value.to_owned()
        } else {
            // The downward API: the only field used is the pod's job-name label, the Job's name.
            let field = var["valueFrom"]["fieldRef"]["fieldPath"].as_str().unwrap();
            assert_eq!(field, "metadata.labels['job-name']", "{name}");
            job["metadata"]["name"].as_str().unwrap().to_owned()
        };
        env.insert(name, value);
    }
    for (name, value) in local {
        assert!(env.contains_key(*name), "the manifest sets {name}");
        env.insert((*name).to_owned(), value.clone());
    }
    // The kubelet expands $(VAR) in command and args from the container's env.
    let expand = |word: &str| {
        let mut word = word.to_owned();
        for (name, value) in &env {
            word = word.replace(&format!("$({name})"), value);
        }
        assert!(!word.contains("$("), "every $(VAR) is defined: {word}");
        word
    };
    let argv: Vec<String> = container["command"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(container["args"].as_array().into_iter().flatten())
        .map(|word| expand(word.as_str().unwrap()))
        .collect();
    let workers = argv
        .iter()
        .position(|w| w == "--workers")
        .map(|at| argv[at + 1].parse::<usize>().unwrap());
    assert_eq!(workers, Some(completions), "--workers equals completions");
    JobCommand {
        argv,
        env,
        completions,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_command_run_as_each_index_merges_into_one_run() {
    let server = common::server(Duration::from_millis(1)).await;
    let dir = common::temp_dir("deploy-job");
    // What a user changes for their cluster: the target, and a short run for the test.
    let local = HashMap::from([
        ("TARGET_URL", server.url("/json")),
        ("DURATION", "2s".to_owned()),
        ("START_AT", "+1s".to_owned()),
    ]);
    let job = job_command(&local);
    assert_eq!(job.argv[0], "loadgen", "the container runs loadgen");
    let mut pods = Vec::new();
    for index in 0..job.completions {
        let mut command = common::binary();
        command
            .args(&job.argv[1..])
            .env_clear()
            .envs(&job.env)
            .env("JOB_COMPLETION_INDEX", index.to_string());
        pods.push(tokio::spawn(async move {
            command.output().await.expect("the pod's command runs")
        }));
    }
    let mut logs = Vec::new();
    for (index, pod) in pods.into_iter().enumerate() {
        let out = pod.await.unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "pod {index}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // `kubectl logs` shows both streams.
        let log = dir.join(format!("loadgen-{index}.log"));
        let mut text = out.stderr.clone();
        text.extend_from_slice(&out.stdout);
        std::fs::write(&log, text).unwrap();
        logs.push(log);
    }
    let merged_path = dir.join("merged.json");
    let out = common::binary()
        .arg("merge")
        .args(&logs)
        .arg("--json-out")
        .arg(&merged_path)
        .output()
        .await
        .expect("loadgen merge runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "merge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = common::read_json(&merged_path);
    common::assert_valid_report(&merged);
    let indexes: Vec<u64> = merged["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["index"].as_u64().unwrap())
        .collect();
    assert_eq!(
        indexes,
        [0, 1, 2],
        "each pod took its index from JOB_COMPLETION_INDEX"
    );
    assert_eq!(merged["run_id"], "loadgen", "the run id is the Job's name");
    assert_eq!(
        merged["workload"]["users"], 30,
        "the Job's USERS, split and summed back"
    );
    assert!(
        merged["requests"]["pass"].as_u64().unwrap() > 0,
        "the merged report of the Job's workers has passing requests: {}",
        merged["requests"]
    );
}
