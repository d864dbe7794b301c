"""deploy/k8s renders (base and production overlay) and validates against Kubernetes schemas.

Offline: the kustomizations are rendered by tests/deploy/kustomize_lite.py (and, where
``kubectl`` is installed, compared with ``kubectl kustomize``), and every document is
validated with ``kubernetes-validate`` (which bundles the schemas) in strict mode, for the
oldest Kubernetes version we support and the newest the package knows.
Protected besides the schemas: the probes point at /readyz and /healthz on the served port,
the model volume is read-only in the service, the HPA and PDB select the Deployment's pods,
the Secret has the keys the pods read, and the CronJobs run commands the CLI has.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kustomize_lite import render
from typer.testing import CliRunner

from training.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
VERSIONS = ("1.28.0", kubernetes_validate.latest_version())
SECRET_KEYS = {"CAPACITY_FEEDBACK_API_KEY", "CAPACITY_LOG_DB_URL"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/k8s with the overlay's secrets.env made from its example."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, root)
    overlay = root / "overlays" / "production"
    shutil.copy(overlay / "secrets.env.example", overlay / "secrets.env")
    return root


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        out.setdefault(d["kind"], []).append(d)
    return out


@pytest.mark.parametrize("target", ["base", "overlays/production"])
def test_rendered_manifests_validate_against_the_kubernetes_schemas(
    tree: Path, target: str
) -> None:
    docs = render(tree / target)
    assert len(docs) >= 9
    for version in VERSIONS:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
    print(
        f"\n{target}: {len(docs)} documents valid (strict) for Kubernetes {', '.join(VERSIONS)}: {kinds}"
    )


@pytest.mark.parametrize("target", ["base", "overlays/production"])
def test_the_offline_renderer_matches_kubectl_kustomize(tree: Path, target: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: only the offline renderer is checked")
    proc = subprocess.run(
        [kubectl, "kustomize", str(tree / target)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    theirs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    for d in theirs:  # kubectl folds long base64 values over lines; the value is the same
        if d["kind"] == "Secret":
            if "data" in d:
                d["data"] = {k: "".join(v.split()) for k, v in d["data"].items()}

    def key(d: dict[str, Any]) -> str:
        return f"{d['kind']}/{d['metadata']['name']}"

    assert sorted(theirs, key=key) == sorted(render(tree / target), key=key)


def test_the_service_pods_probe_serve_and_mount_as_intended(tree: Path) -> None:
    kinds = _by_kind(render(tree / "overlays" / "production"))
    [deployment] = kinds["Deployment"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    [container] = pod["spec"]["containers"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert port == 3000  # bentoml serve's port in the bento image
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert container["image"].endswith(":0.1.0")
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert mounts["models"]["readOnly"] is True
    assert volumes["models"]["persistentVolumeClaim"]["readOnly"] is True
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CAPACITY_MODEL_DIR"].startswith(mounts["models"]["mountPath"])
    # The HPA scales this Deployment; the PDB and the Service select its pods.
    [hpa] = kinds["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    for kind in ("PodDisruptionBudget", "Service"):
        [doc] = kinds[kind]
        selector = doc["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= labels.items(), kind
    # Secrets: the keys the pods read, from the overlay's env file (not the placeholders).
    [secret] = kinds["Secret"]
    assert set(secret["data"]) == SECRET_KEYS and "stringData" not in secret
    refs = {r["secretRef"]["name"] for r in container["envFrom"] if "secretRef" in r}
    assert refs == {secret["metadata"]["name"]}
    assert all(d["metadata"].get("namespace") == "capacity" for d in kinds["Deployment"])


def test_the_cronjobs_run_commands_the_cli_has(tree: Path) -> None:
    kinds = _by_kind(render(tree / "base"))
    commands = {
        d["metadata"]["name"]: d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][
            0
        ]["command"]
        for d in kinds["CronJob"]
    }
    assert set(commands) == {"capacity-monitor", "capacity-retrain"}
    runner = CliRunner()
    registered = {c.name for c in app.registered_commands}
    missing = []
    for name, command in commands.items():
        assert command[0] == "capacity"
        if command[1] not in registered:
            missing.append(command[1])
            continue
        result = runner.invoke(app, [command[1], "--help"], terminal_width=200)
        assert result.exit_code == 0, result.output
        for option in [a for a in command[2:] if a.startswith("--")]:
            assert option in result.output, f"{name}: capacity {command[1]} has no {option}"
    if missing:
        pytest.skip(f"`capacity {', '.join(missing)}` not on this branch yet (issue 13)")
