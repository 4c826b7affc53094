"""The local cloud itself: every manifest resource exists in the emulators, every function
answers, and stopping a stack leaves no process and no listening port behind."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from giftengine import manifest as manifest_mod
from giftengine import naming
from giftengine_dev.devcloud import procs, stack
from giftengine_dev.devcloud.layout import EMULATOR_OFFSETS, Layout

M = manifest_mod.load()
EMULATORS = ("firestore", "pubsub", "auth", "storage", "tasks")


# ---- the running test stack ------------------------------------------------------------------


@pytest.mark.emulator
def test_status_json_lists_every_emulator_and_http_endpoint_and_they_answer(cloud):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "giftengine_dev.cli.main",
            "dev",
            "status",
            "--json",
            "--state-dir",
            cloud["state_dir"],
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    status = json.loads(out)
    keys = ("project_id", "emulators", "endpoints", "openapi", "running", "pids")
    keys += ("state_dir", "env")
    for key in keys:
        assert key in status, key
    assert status["running"] is True
    assert status["project_id"] == cloud["project_id"]
    assert set(status["emulators"]) == set(EMULATORS)
    # Every HTTP function, plus the web clients (giftengine_dev.webclients, served by dev up).
    assert set(status["endpoints"]) == {f.name for f in M.http_functions()} | {
        "overlay",
        "dashboard",
    }
    assert Path(status["openapi"]).is_absolute()
    for name, hostport in status["emulators"].items():
        host, port = hostport.rsplit(":", 1)
        assert procs.port_open(int(port), host), f"{name} not listening on {hostport}"
    env = status["env"]
    assert env["FIRESTORE_EMULATOR_HOST"] == status["emulators"]["firestore"]
    assert env["STORAGE_EMULATOR_HOST"] == f"http://{status['emulators']['storage']}"
    assert env["CLOUD_TASKS_EMULATOR_HOST"] == status["emulators"]["tasks"]
    for name, url in status["endpoints"].items():
        assert env[naming.function_url_env(name)] == url


@pytest.mark.emulator
def test_firestore_write_then_read_through_the_python_client(cloud, stream_id):
    from google.cloud import firestore

    db = firestore.Client(project=cloud["project_id"])
    ref = db.collection("devcloud_selftest").document(stream_id)
    ref.set({"coins": 7, "stream_id": stream_id})
    assert ref.get().to_dict() == {"coins": 7, "stream_id": stream_id}
    ref.delete()
    assert not ref.get().exists


@pytest.mark.emulator
def test_every_manifest_topic_and_subscription_exists_with_its_push_endpoint(cloud):
    from google.cloud import pubsub_v1

    project = cloud["project_id"]
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    for topic in M.topics.values():
        assert publisher.get_topic(topic=f"projects/{project}/topics/{topic}").name
    for sub in M.subscriptions.values():
        got = subscriber.get_subscription(
            subscription=f"projects/{project}/subscriptions/{sub.name}"
        )
        topic = M.topic(sub.topic)
        assert got.topic == f"projects/{project}/topics/{topic}"
        assert got.ack_deadline_seconds == sub.ack_deadline_seconds
        if sub.push_to:
            function_url = cloud["functions"][sub.push_to]["url"]
            expected = f"{function_url}/projects/{project}/topics/{topic}"
            assert got.push_config.push_endpoint == expected
        else:
            assert got.push_config.push_endpoint == ""
        if sub.dead_letter_topic:
            dlq = M.topic(sub.dead_letter_topic)
            assert got.dead_letter_policy.dead_letter_topic == f"projects/{project}/topics/{dlq}"
            assert got.dead_letter_policy.max_delivery_attempts == sub.max_delivery_attempts
    subscriber.close()


@pytest.mark.emulator
def test_every_manifest_queue_exists_in_the_tasks_emulator(cloud):
    from giftengine.adapters.clients import tasks_client

    client = tasks_client()
    parent = f"projects/{cloud['project_id']}/locations/{M.region}"
    names = {q.name for q in client.list_queues(parent=parent)}
    for q in M.queues.values():
        assert naming.queue_path(cloud["project_id"], M.region, q.name) in names


@pytest.mark.emulator
def test_the_tasks_emulator_refuses_a_task_name_already_used_as_cloud_tasks_does(cloud, stream_id):
    """The emulator itself accepts and runs every create; ours (devcloud/tasks_emulator.py)
    answers ALREADY_EXISTS to a name already used, as Cloud Tasks does, so a name two
    processes both create runs once here too."""
    from giftengine.adapters.clients import tasks_client
    from google.api_core.exceptions import AlreadyExists

    client = tasks_client()
    q = next(iter(M.queues.values()))
    parent = naming.queue_path(cloud["project_id"], M.region, q.name)
    future = {"seconds": int(time.time()) + 3600}  # never due during the test
    task = {
        "name": f"{parent}/tasks/dup-{stream_id}",
        "schedule_time": future,
        "http_request": {"http_method": "POST", "url": "http://127.0.0.1:9/never"},
    }
    assert client.create_task(parent=parent, task=task).name == task["name"]
    with pytest.raises(AlreadyExists):
        client.create_task(parent=parent, task=task)
    other = {**task, "name": f"{parent}/tasks/dup-{stream_id}-2"}
    assert client.create_task(parent=parent, task=other).name == other["name"]


@pytest.mark.emulator
def test_every_manifest_bucket_exists_in_the_storage_emulator(cloud, stream_id):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=cloud["project_id"], credentials=AnonymousCredentials())
    for key in M.buckets:
        bucket = client.get_bucket(naming.bucket_name(cloud["project_id"], key))
        blob = bucket.blob(f"selftest/{stream_id}.txt")
        blob.upload_from_string(b"ok")
        assert blob.download_as_bytes() == b"ok"
        blob.delete()


@pytest.mark.emulator
def test_every_http_function_answers_a_bodyless_post_without_a_server_error(cloud):
    assert cloud["endpoints"], "the manifest has http functions"
    for name, url in cloud["endpoints"].items():
        resp = requests.post(url, timeout=30)
        assert resp.status_code < 500, f"{name}: HTTP {resp.status_code} {resp.text[:200]}"


@pytest.mark.emulator
def test_functions_get_the_wiring_and_test_env(cloud):
    """The function processes were started with the emulator, URL and GIFTENGINE_* env."""
    for name in M.functions:
        pid = cloud["pids"][f"fn-{name}"]
        env = (
            dict(
                item.split("=", 1)
                for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
                if "=" in item
            )
            if Path(f"/proc/{pid}/environ").exists()
            else None
        )
        if env is None:
            pytest.skip("no /proc on this platform")
        assert env["FIRESTORE_EMULATOR_HOST"] == cloud["emulators"]["firestore"]
        assert env["GIFTENGINE_PROJECT"] == cloud["project_id"]
        assert env["GIFTENGINE_STREAK_IDLE_TIMEOUT_S"] == "2"
        assert env["GIFTENGINE_WRITE_LOG"] == str(Path(cloud["writes_dir"]) / f"{name}.jsonl")
        for http_name, url in cloud["endpoints"].items():
            assert env[naming.function_url_env(http_name)] == url
    assert Path(cloud["writes_dir"]).is_dir()


@pytest.mark.emulator
def test_up_on_a_running_stack_returns_its_status_without_restarting(cloud):
    again = stack.up(cloud["state_dir"], log=lambda _msg: None)
    assert again["running"] is True
    assert again["pids"] == cloud["pids"]


# ---- process management ------------------------------------------------------------------------

# A leader that looks like firebase-tools: a child in its own group, and a *detached* child
# (own session, like the Java emulators) that holds a listening port and ignores SIGTERM.
_DUMMY = textwrap.dedent(
    """
    import socket, subprocess, sys, time
    portfile = sys.argv[1]
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    subprocess.Popen([sys.executable, "-c", '''
    import signal, socket, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
    import os; os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(600)
    ''', portfile], start_new_session=True)
    time.sleep(600)
    """
)


@pytest.mark.unit
def test_down_kills_the_whole_tree_including_detached_children_and_frees_the_port(tmp_path):
    portfile = tmp_path / "port"
    cmd = [sys.executable, "-c", _DUMMY, str(portfile)]
    leader = procs.spawn(cmd, tmp_path / "dummy.log", env=None)
    deadline = time.monotonic() + 30
    while not portfile.exists():
        assert time.monotonic() < deadline, procs.tail(tmp_path / "dummy.log")
        time.sleep(0.05)
    port = int(portfile.read_text())
    tree = procs.descendants([leader])
    assert len(tree) == 3
    rows = procs._table()  # noqa: SLF001
    assert len({rows[p.pid].pgid for p in tree}) == 2, "the detached child has its own group"
    assert procs.port_open(port)

    # A stack record whose "firestore" port is the dummy's, with no children recorded:
    # down must find the detached child by walking the tree.
    record = {
        "project_id": "demo-x",
        "port_base": port - EMULATOR_OFFSETS["firestore"],
        "ports": {"firestore": port},
        "leaders": {"firebase": procs.to_json([leader])[0]},
        "children": [],
    }
    (tmp_path / "stack.json").write_text(json.dumps(record))
    result = stack.down(tmp_path, grace=1.0)

    assert result["stopped"] == ["firebase"] and result["was_running"] is True
    # The detached child ignores SIGTERM: only SIGKILL ends it.
    assert len(result["needed_sigkill"]) == 1
    assert [p for p in tree if procs.alive(p)] == []
    assert not procs.port_open(port)
    assert not (tmp_path / "stack.json").exists()
    assert stack.status(tmp_path)["running"] is False


@pytest.mark.unit
def test_down_without_a_record_is_a_no_op(tmp_path):
    assert stack.down(tmp_path)["was_running"] is False


@pytest.mark.unit
def test_port_plan_gives_distinct_ports_and_keeps_dev_and_test_stacks_apart():
    dev = Layout("demo-giftengine", Path("/tmp/dev"), 8700)
    test = Layout("demo-giftengine", Path("/tmp/test"), 9400)
    for layout in (dev, test):
        ports = list(layout.all_ports().values())
        assert len(ports) == len(set(ports))
        # +0..+29 emulators and functions, +30/+31 the web clients.
        assert min(ports) == layout.port_base and max(ports) < layout.port_base + 32
    assert not set(dev.all_ports().values()) & set(test.all_ports().values())
    names = list(M.functions)
    assert [dev.function_port(n) for n in names] == list(range(8710, 8710 + len(names)))
    assert dev.emulators()["firestore"] == "127.0.0.1:8700"


@pytest.mark.unit
def test_bucket_names_are_prefixed_with_the_project():
    assert naming.bucket_name("demo-giftengine", "exports") == "demo-giftengine-exports"


@pytest.mark.unit
def test_function_env_passes_giftengine_vars_through_but_wiring_wins(monkeypatch):
    monkeypatch.setenv("GIFTENGINE_STREAK_IDLE_TIMEOUT_S", "3")
    monkeypatch.setenv("GIFTENGINE_STATE_DIR", "/elsewhere")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    layout = Layout("demo-x", Path("/tmp/st"), 9000)
    env = layout.function_env("rollup", {"GIFTENGINE_TOP_N": "5", "GIFTENGINE_PROJECT": "other"})
    assert env["GIFTENGINE_STREAK_IDLE_TIMEOUT_S"] == "3"
    assert env["GIFTENGINE_TOP_N"] == "5"
    assert "GIFTENGINE_STATE_DIR" not in env
    assert env["GIFTENGINE_PROJECT"] == "demo-x"
    assert env["FIRESTORE_EMULATOR_HOST"] == "127.0.0.1:9000"
    assert env["GIFTENGINE_WRITE_LOG"] == "/tmp/st/writes/rollup.jsonl"


@pytest.mark.unit
def test_firestore_launcher_jar_names_the_main_class_and_the_real_jar(tmp_path, monkeypatch):
    import zipfile

    from giftengine_dev.devcloud import tools

    monkeypatch.setenv("GIFTENGINE_TOOLS_DIR", str(tmp_path / "tools"))
    real = tmp_path / "sdk" / "cloud-firestore-emulator.jar"
    real.parent.mkdir()
    real.write_bytes(b"")
    (tmp_path / "link.jar").symlink_to(real)
    jar = tools.launcher_jar(tmp_path / "link.jar")
    manifest = zipfile.ZipFile(jar).read("META-INF/MANIFEST.MF").decode()
    assert f"Main-Class: {tools.FIRESTORE_MAIN_CLASS}\r\n" in manifest
    assert f"Class-Path: {real.resolve().as_uri()}\r\n" in manifest
    mtime = jar.stat().st_mtime_ns
    assert tools.launcher_jar(tmp_path / "link.jar") == jar and jar.stat().st_mtime_ns == mtime


_ECHO_FUNCTION = textwrap.dedent(
    """
    import base64, json, os
    import functions_framework

    @functions_framework.cloud_event
    def echo(cloud_event):
        data = base64.b64decode(cloud_event.data["message"]["data"]).decode()
        record = {"source": cloud_event["source"], "type": cloud_event["type"], "data": data}
        with open(os.environ["ECHO_OUT"], "a") as out:
            out.write(json.dumps(record) + "\\n")
    """
)


@pytest.mark.emulator
def test_a_push_url_with_the_topic_path_gives_the_cloudevent_the_topic_as_source(
    cloud, tmp_path, stream_id
):
    """The convention dev up uses for push subscriptions, checked end to end: Pub/Sub emulator
    push -> functions-framework -> a CloudEvent whose source is the topic (as from Eventarc)."""
    import contextlib
    import os
    import socket

    from google.api_core.exceptions import NotFound
    from google.cloud import pubsub_v1

    (tmp_path / "main.py").write_text(_ECHO_FUNCTION)
    out = tmp_path / "events.jsonl"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "functions_framework",
        "--source",
        str(tmp_path / "main.py"),
        "--target",
        "echo",
        "--signature-type",
        "cloudevent",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    server = procs.spawn(cmd, tmp_path / "echo.log", env={**os.environ, "ECHO_OUT": str(out)})
    project = cloud["project_id"]
    topic = f"projects/{project}/topics/selftest-{stream_id}"
    sub = f"projects/{project}/subscriptions/selftest-{stream_id}"
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    try:
        deadline = time.monotonic() + 60
        while not procs.port_open(port):
            assert time.monotonic() < deadline, procs.tail(tmp_path / "echo.log")
            time.sleep(0.1)
        publisher.create_topic(name=topic)
        endpoint = f"http://127.0.0.1:{port}/{topic}"
        subscriber.create_subscription(
            name=sub, topic=topic, push_config=pubsub_v1.types.PushConfig(push_endpoint=endpoint)
        )
        publisher.publish(topic, stream_id.encode()).result(timeout=30)
        while not out.exists() or not out.read_text().strip():
            assert time.monotonic() < deadline, procs.tail(tmp_path / "echo.log")
            time.sleep(0.1)
        event = json.loads(out.read_text().splitlines()[0])
        assert event == {
            "source": f"//pubsub.googleapis.com/{topic}",
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "data": stream_id,
        }
    finally:
        with contextlib.suppress(NotFound):
            subscriber.delete_subscription(subscription=sub)
        with contextlib.suppress(NotFound):
            publisher.delete_topic(topic=topic)
        subscriber.close()
        assert procs.stop([server], grace=5).left == []
