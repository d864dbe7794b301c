"""Render deploy/k8s kustomizations offline, for the manifest tests.

No kustomize binary is installed by the project (kustomize ships as a download, and the
tests run offline), and no maintained Python implementation of kustomize is on PyPI. The
overlays therefore use a small, stated subset of kustomize, rendered here:

* ``resources``: YAML files (several documents allowed) and folders with a
  ``kustomization.yaml``, rendered recursively;
* ``namespace`` (namespaced kinds only), ``labels`` (``pairs`` into ``metadata.labels``;
  selectors and templates untouched), ``images`` (``newName``/``newTag`` of matching
  container images);
* ``patches`` with a ``path`` to a strategic-merge patch: maps merge recursively, lists of
  maps with a ``name`` merge by name, other lists are replaced;
* ``secretGenerator`` / ``configMapGenerator`` from ``envs`` files with
  ``behavior: create | replace`` and ``generatorOptions.disableNameSuffixHash: true``.

Anything else in a kustomization raises, so an overlay cannot silently use a feature this
renderer ignores. Where ``kubectl`` (which embeds kustomize) is installed,
tests/deploy/test_k8s_manifests.py also checks that it renders the same documents.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_KEYS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "patches",
    "secretGenerator",
    "configMapGenerator",
    "generatorOptions",
}
CLUSTER_SCOPED = {
    "Namespace",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
}
Doc = dict[str, Any]


def load_documents(path: Path) -> list[Doc]:
    """The non-empty YAML documents of a file."""
    with path.open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(x, dict) and "name" in x for x in base + patch)
    ):
        merged = [dict(x) for x in base]
        index = {x["name"]: i for i, x in enumerate(merged)}
        for item in patch:
            if item["name"] in index:
                merged[index[item["name"]]] = _merge(merged[index[item["name"]]], item)
            else:
                merged.append(copy.deepcopy(item))
        return merged
    return copy.deepcopy(patch)


def _pod_specs(doc: Doc) -> list[Doc]:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if "template" in spec and "spec" in spec["template"]:
        return [spec["template"]["spec"]]
    return []


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


def _generated(kind: str, spec: Doc, root: Path, options: Doc) -> Doc:
    if not options.get("disableNameSuffixHash"):
        raise ValueError("generators need generatorOptions.disableNameSuffixHash: true")
    values: dict[str, str] = {}
    for env in spec.get("envs", []):
        values.update(_env_file(root / env))
    doc: Doc = {"apiVersion": "v1", "kind": kind, "metadata": {"name": spec["name"]}}
    if kind == "Secret":
        doc["type"] = "Opaque"
        doc["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
    else:
        doc["data"] = values
    return doc


def render(folder: Path) -> list[Doc]:
    """The documents ``kustomize build folder`` gives, for the subset described above."""
    k = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(k) - SUPPORTED_KEYS
    if unknown:
        raise ValueError(f"{folder}: kustomization keys not supported offline: {sorted(unknown)}")
    docs: list[Doc] = []
    for res in k.get("resources", []):
        path = folder / res
        docs.extend(render(path) if path.is_dir() else load_documents(path))
    options = k.get("generatorOptions", {})
    for kind, key in (("Secret", "secretGenerator"), ("ConfigMap", "configMapGenerator")):
        for spec in k.get(key, []):
            new = _generated(kind, spec, folder, options)
            behavior = spec.get("behavior", "create")
            same = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == spec["name"]]
            if behavior == "replace":
                if not same:
                    raise ValueError(
                        f"{folder}: {kind} {spec['name']} to replace is not in the base"
                    )
                old = same[0]
                old.pop("stringData", None)
                old["data"] = new["data"]
            elif behavior == "create":
                if same:
                    raise ValueError(
                        f"{folder}: {kind} {spec['name']} exists; use behavior: replace"
                    )
                docs.append(new)
            else:
                raise ValueError(f"{folder}: generator behavior {behavior!r} not supported offline")
    for patch_ref in k.get("patches", []):
        if set(patch_ref) != {"path"}:
            raise ValueError(
                f"{folder}: only patches with a path are supported offline: {patch_ref}"
            )
        for patch in load_documents(folder / patch_ref["path"]):
            targets = [
                i
                for i, d in enumerate(docs)
                if d["kind"] == patch["kind"] and d["metadata"]["name"] == patch["metadata"]["name"]
            ]
            if len(targets) != 1:
                raise ValueError(
                    f"{folder}: patch {patch_ref['path']} matches {len(targets)} resources"
                )
            docs[targets[0]] = _merge(docs[targets[0]], patch)
    for entry in k.get("labels", []):
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            raise ValueError(f"{folder}: labels with selectors/templates not supported offline")
        for d in docs:
            d.setdefault("metadata", {}).setdefault("labels", {}).update(entry["pairs"])
    for image in k.get("images", []):
        for d in docs:
            for pod in _pod_specs(d):
                for c in pod.get("containers", []) + pod.get("initContainers", []):
                    name, _, tag = c["image"].partition(":")
                    if name == image["name"]:
                        c["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    if "namespace" in k:
        for d in docs:
            if d["kind"] not in CLUSTER_SCOPED:
                d["metadata"]["namespace"] = k["namespace"]
    return docs
