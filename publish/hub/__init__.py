"""The Hugging Face Hub side of `publish`, all through huggingface_hub's public API.

    plan.py     staged folder -> PushPlan (new / changed / unchanged / to delete), local_plan()
    hashing.py  parallel sha256 with a (path, size, mtime_ns, inode) cache outside the folder
    push.py     push(plan): create_repo(exist_ok=True) then ONE create_commit
    remote.py   hf://ORG/NAME[@REV]/FILE.gguf as a seekable stream of HTTP range reads
    client.py   endpoint, token, HfApi, bounded retries, Hub errors -> HubError
    transport.py  huggingface_hub's HTTP client: an unreachable host fails at once; its retry
                lines follow publish.progress (dropped when quiet, one line at a terminal)

Nothing here imports huggingface_hub at module import time except through these modules, so
`publish --help` and local-only commands stay fast.
"""
