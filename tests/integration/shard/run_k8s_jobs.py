"""Runs deploy/k8s's Jobs here as Kubernetes would, in the order run.sh applies them: each
container's command with the ConfigMap's data (values from this process's environment where
it sets them, since the paths are the test's), the container's env, and for an Indexed Job one
process per completion index with JOB_COMPLETION_INDEX set. --shards N replaces the manifests'
completions and QCAL_SHARD_COUNT (as run.sh's note says to edit them)."""
import argparse
import os
import subprocess
import sys

import yaml

STEPS = ["frames", "score", "choose", "stats", "reduce"]


def job_env(config, container, shards):
    env = dict(os.environ)
    for key, value in config.items():
        env.setdefault(key, str(value))
    for item in container.get("env", []):
        env[item["name"]] = str(item["value"])
    if "QCAL_SHARD_COUNT" in env:
        env["QCAL_SHARD_COUNT"] = str(shards)
    return env


def run_job(path, config, shards):
    with open(path) as f:
        job = yaml.safe_load(f)
    spec = job["spec"]
    container = spec["template"]["spec"]["containers"][0]
    command = container["command"] + container.get("args", [])
    env = job_env(config, container, shards)
    indexed = spec.get("completionMode") == "Indexed"
    indices = range(shards) if indexed else [None]
    for index in indices:
        if index is not None:
            env["JOB_COMPLETION_INDEX"] = str(index)
        result = subprocess.run(command, env=env)
        if result.returncode != 0:
            sys.exit(f"{path}: index {index} exited with {result.returncode}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shards", type=int, required=True)
    parser.add_argument("folder")
    args = parser.parse_args()
    with open(os.path.join(args.folder, "configmap.yaml")) as f:
        config = yaml.safe_load(f)["data"]
    for step in STEPS:
        run_job(os.path.join(args.folder, f"{step}-job.yaml"), config, args.shards)


main()
