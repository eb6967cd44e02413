"""The Kubernetes manifests (deploy/k8s/) against the Kubernetes API schemas, and what they must say.

kubernetes-validate bundles the OpenAPI-derived JSON schemas of every Kubernetes minor version, so
this runs offline. Strict mode also rejects unknown fields (a misspelt ``readinesProbe`` is an
error, not a silently ignored key). Then the wiring the schemas cannot see: selectors match the pod
labels, the Ingress reaches the Service port, cookie affinity and websocket timeouts are set, every
probe asks /_stcore/health on the app's port, the cookie secret comes from a Secret.
"""

from __future__ import annotations

import copy
import re

import kubernetes_validate
import pytest
import yaml

from tests.support import ROOT

K8S = ROOT / "deploy" / "k8s"
# The oldest minor version still in common support, and the newest the validator knows.
VERSIONS = ["1.30", kubernetes_validate.latest_version()]
HEALTH = "/_stcore/health"
APP_PORT = 8501  # Dockerfile EXPOSE, compose.yaml and haproxy.cfg


def manifests() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


def one(kind: str) -> dict:
    found = [doc for _, doc in manifests() if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind} in deploy/k8s, found {len(found)}"
    return found[0]


def app_container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "one container per pod: one Streamlit process"
    return containers[0]


def cpu_cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]i?)?", quantity)
    assert m, f"unexpected memory quantity {quantity!r}"
    return float(m.group(1)) * units.get(m.group(2) or "", 1 / 2**20)


def test_the_manifests_are_there() -> None:
    kinds = sorted(doc["kind"] for _, doc in manifests())
    assert {"Deployment", "Service", "Ingress"} <= set(kinds), kinds


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(version: str) -> None:
    for name, doc in manifests():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path)
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']} at {where}: {exc.message}", pytrace=False)


def test_the_validator_rejects_what_kubernetes_would() -> None:
    """The check above can fail: a wrong type and a misspelt field are both caught."""
    deployment = one("Deployment")
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "four"
    misspelt = copy.deepcopy(deployment)
    container = app_container(misspelt)
    container["readinesProbe"] = container.pop("readinessProbe")
    for bad in (wrong_type, misspelt):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(bad, VERSIONS[-1], strict=True)


def test_the_deployment_runs_several_probed_non_root_pods_with_bounded_resources() -> None:
    deployment = one("Deployment")
    spec = deployment["spec"]
    pod = spec["template"]
    assert spec["replicas"] >= 2, "one pod is one process: a class needs several"
    labels = pod["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items(), "the selector misses the pod labels"

    container = app_container(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": APP_PORT}, ports
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == HEALTH and get["port"] in ("http", APP_PORT), f"{probe}: {get}"

    resources = container["resources"]
    assert cpu_cores(resources["requests"]["cpu"]) >= 0.5
    assert 0.9 <= cpu_cores(resources["limits"]["cpu"]) <= 1.25, "one process uses at most ~1.1 cores"
    request_mb, limit_mb = (mebibytes(resources[k]["memory"]) for k in ("requests", "limits"))
    assert 256 <= request_mb <= limit_mb, (request_mb, limit_mb)

    dockerfile_user = re.search(r"^USER\s+(\d+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE).group(1)
    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True and str(security["runAsUser"]) == dockerfile_user


def test_the_cookie_secret_comes_from_a_secret() -> None:
    env = {e["name"]: e for e in app_container(one("Deployment"))["env"]}
    secret = env["STREAMLIT_SERVER_COOKIE_SECRET"]
    assert "value" not in secret, "the cookie secret is written into the manifest"
    ref = secret["valueFrom"]["secretKeyRef"]
    assert ref["name"] and ref["key"] and not ref.get("optional", False)
    for name, doc in manifests():  # and no secret value is committed beside it
        assert doc["kind"] != "Secret" or not (doc.get("data") or doc.get("stringData")), (
            f"{name} commits a secret value; create the Secret with kubectl (deploy/README.md)")


def test_the_service_and_ingress_reach_the_pods_with_sticky_websockets() -> None:
    deployment, service, ingress = one("Deployment"), one("Service"), one("Ingress")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items(), "the Service selects no pod"
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in ("http", APP_PORT)

    backends = [path["backend"]["service"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert backends, "the Ingress routes nothing"
    for backend in backends:
        assert backend["name"] == service["metadata"]["name"]
        assert backend["port"].get("name") == port["name"] or backend["port"].get("number") == port["port"]

    notes = ingress["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert notes[prefix + "affinity"] == "cookie"
    assert notes[prefix + "affinity-mode"] == "persistent", "balanced mode moves browsers when pods are added"
    assert notes[prefix + "session-cookie-name"]
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(notes[prefix + timeout]) >= 600, f"{timeout}: websockets of a lesson need long timeouts"
