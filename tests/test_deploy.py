"""deploy/: the compose files, the app image and the Helm values say what the README promises.

The files are parsed as YAML and checked field by field; where a `docker
compose` command exists, `docker compose config` validates them too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
SERVER = DEPLOY / "docker-compose.yml"
CLUSTER = DEPLOY / "cluster" / "docker-compose.yml"
PINNED = re.compile(r"^qdrant/qdrant:v\d+\.\d+\.\d+$")
KEY_FROM_ENV = re.compile(r"^\$\{QDRANT_API_KEY:\?[^}]+\}$")  # required: compose stops when it is unset


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def qdrant_image() -> str:
    """The pinned Qdrant image of the single-server compose file (the test container uses it too)."""
    return load(SERVER)["services"]["qdrant"]["image"]


def test_server_compose_runs_a_pinned_qdrant_with_storage_ports_and_a_required_key():
    compose = load(SERVER)
    qdrant = compose["services"]["qdrant"]
    assert PINNED.match(qdrant["image"]), qdrant["image"]
    assert {"6333:6333", "6334:6334"} <= set(qdrant["ports"])
    assert KEY_FROM_ENV.match(qdrant["environment"]["QDRANT__SERVICE__API_KEY"])
    mounts = dict(volume.split(":") for volume in qdrant["volumes"])
    assert mounts["qdrant_storage"] == "/qdrant/storage"
    assert set(mounts) <= set(compose["volumes"])  # named volumes, declared


def test_server_compose_builds_the_app_against_the_server_with_the_data_mounted():
    app = load(SERVER)["services"]["app"]
    assert app["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert app["environment"]["QDRANT_URL"] == "http://qdrant:6333"
    assert KEY_FROM_ENV.match(app["environment"]["QDRANT_API_KEY"])
    assert "../data:/app/data" in app["volumes"]
    assert "qdrant" in app["depends_on"]


def test_app_image_holds_the_requirements_and_every_package_of_the_app():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3.11-slim$", dockerfile, re.M)
    assert re.search(r"^RUN pip install .*-r requirements\.txt$", dockerfile, re.M)
    copied = {part.rstrip("/") for line in re.findall(r"^COPY (.+)$", dockerfile, re.M) for part in line.split()[:-1]}
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    modules = {p.name for p in REPO.glob("*.py")}  # cli.py and the modules beside it
    assert {"cli.py", "errors.py"} <= modules and {"commands", "render"} <= packages
    assert {"requirements.txt"} | modules | packages <= copied


def _node_commands(services: dict) -> dict[str, list[str]]:
    return {name: service["command"] for name, service in services.items()}


def test_cluster_compose_has_three_nodes_one_founder_and_a_private_p2p_port():
    services = load(CLUSTER)["services"]
    assert len(services) == 3
    commands = _node_commands(services)
    founders = [name for name, command in commands.items() if "--bootstrap" not in command]
    assert len(founders) == 1
    founder_uri = f"http://{founders[0]}:6335"
    for name, service in services.items():
        assert service["image"] == qdrant_image()
        env = service["environment"]
        assert env["QDRANT__CLUSTER__ENABLED"] == "true" and env["QDRANT__CLUSTER__P2P__PORT"] == "6335"
        assert (
            env["QDRANT__SERVICE__API_KEY"]
            == load(SERVER)["services"]["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"]
        )
        command = commands[name]
        assert command[command.index("--uri") + 1] == f"http://{name}:6335"
        if name not in founders:
            assert command[command.index("--bootstrap") + 1] == founder_uri
            assert founders[0] in service["depends_on"]
        assert not any(port.split(":")[-1] == "6335" for port in service["ports"])
        assert [v.split(":")[1] for v in service["volumes"]] == ["/qdrant/storage"]
    host_ports = [port.split(":")[0] for service in services.values() for port in service["ports"]]
    assert len(host_ports) == len(set(host_ports)) == 6
    storage = [service["volumes"][0].split(":")[0] for service in services.values()]
    assert len(set(storage)) == 3


def test_helm_values_run_the_same_pinned_qdrant_as_a_keyed_cluster():
    values = load(DEPLOY / "helm" / "values.yaml")
    assert f"qdrant/qdrant:{values['image']['tag']}" == qdrant_image()
    assert values["replicaCount"] == 3 and values["config"]["cluster"]["enabled"] is True
    assert values["apiKey"]


def _documented_commands(markdown: Path) -> list[list[str]]:
    text = markdown.read_text().replace("\\\n", " ")
    return [
        shlex.split(line.split("#")[0])[2:] for line in text.splitlines() if line.strip().startswith("python cli.py ")
    ]


def test_every_cli_command_in_the_cluster_readme_parses():
    import cli

    commands = _documented_commands(DEPLOY / "cluster" / "README.md")
    assert any("--shards" in args and "--replicas" in args for args in commands)
    for args in commands:
        result = CliRunner().invoke(cli.cli, [*args, "--help"])  # parses every option, runs nothing
        assert result.exit_code == 0, (args, result.output)


def _compose_available() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0


needs_compose = pytest.mark.skipif(not _compose_available(), reason="no `docker compose` command here")


@needs_compose
@pytest.mark.parametrize("path", [SERVER, CLUSTER], ids=["server", "cluster"])
def test_docker_compose_config_accepts_the_file(path):
    env = {**os.environ, "QDRANT_API_KEY": "compose-config-check"}
    run = subprocess.run(
        ["docker", "compose", "-f", str(path), "config", "--quiet"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr


@needs_compose
def test_docker_compose_refuses_to_start_without_an_api_key():
    env = {k: v for k, v in os.environ.items() if k != "QDRANT_API_KEY"}
    run = subprocess.run(
        ["docker", "compose", "-f", str(SERVER), "config", "--quiet"], env=env, capture_output=True, text=True
    )
    assert run.returncode != 0 and "QDRANT_API_KEY" in run.stderr


def test_the_ingest_job_runs_one_part_per_completion_index_against_the_helm_cluster():
    """An Indexed Job of N pods; pod i's shell turns JOB_COMPLETION_INDEX i into `--part i+1/N`."""
    import cli
    from ingest.parts import parse_part

    job = load(DEPLOY / "k8s" / "ingest-job.yaml")
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    count = spec["completions"]
    assert spec["parallelism"] == count > 1
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    env = {variable["name"]: variable for variable in container["env"]}
    values = load(DEPLOY / "helm" / "values.yaml")
    assert env["QDRANT_URL"]["value"] == "http://qdrant:6333" and values["apiKey"]  # the release's service
    assert env["QDRANT_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "qdrant-apikey", "key": "api-key"}
    shell, flag, script = container["command"]
    assert (shell, flag) == ("sh", "-c") and script.startswith("exec python cli.py ingest ")
    parts = []
    for index in range(count):
        echoed = subprocess.run(
            ["sh", "-c", script.replace("exec python cli.py", "echo", 1)],
            env={"PATH": os.environ["PATH"], "JOB_COMPLETION_INDEX": str(index)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert "--qdrant-url" not in echoed and "--api-key" not in echoed  # both come from the environment
        parts.append(parse_part(echoed[echoed.index("--part") + 1]))
        result = CliRunner().invoke(cli.cli, [*echoed, "--help"])
        assert result.exit_code == 0, result.output
    assert [(part.index, part.count) for part in parts] == [(i, count) for i in range(1, count + 1)]
