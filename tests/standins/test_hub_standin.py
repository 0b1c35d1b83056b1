"""The stand-in answers the endpoints publish does not call itself the way huggingface_hub expects."""

from __future__ import annotations

from standins.hub import WRITE_TOKEN


def test_paths_info_and_whoami_parse_in_huggingface_hub(hub):
    from huggingface_hub import HfApi

    hub.put_file("alice/m", "model.gguf", b"GGUF" + bytes(100))
    hub.put_file("alice/m", "params", b"{}")
    api = HfApi(endpoint=hub.url, token=WRITE_TOKEN)
    info = {f.path: f for f in api.get_paths_info("alice/m", ["model.gguf", "params", "missing"])}
    assert set(info) == {"model.gguf", "params"}
    assert info["model.gguf"].lfs.size == 104 and info["params"].lfs is None
    assert info["params"].blob_id == "9e26dfeeb6e641a33dae4961196235bdb965b21b"   # `git hash-object` of "{}"
    assert api.whoami()["name"] == "alice"


def test_a_post_refused_before_its_body_is_read_leaves_the_connection_usable(hub):
    """The stand-in refuses a preupload without write access before it reads the body; it must
    still drain the body, or the next request on the kept-alive connection is read from the
    middle of it (HTTP 501 for a request line that is JSON). Found by a second `publish release
    --push` with a read-only token in one process."""
    import http.client
    import json

    from standins.hub import READ_TOKEN

    hub.create_repo("alice/m")
    host, port = hub.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    body = json.dumps({"files": [{"path": "a", "size": 1, "sample": ""}]})
    conn.request("POST", "/api/models/alice/m/preupload/main", body=body,
                 headers={"Authorization": f"Bearer {READ_TOKEN}", "Content-Type": "application/json"})
    refused = conn.getresponse()
    refused.read()
    assert refused.status == 403
    conn.request("GET", "/api/models/alice/m/revision/main", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    again = conn.getresponse()
    assert again.status == 200 and json.loads(again.read())["id"] == "alice/m"
    conn.close()
