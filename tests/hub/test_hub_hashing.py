"""Parallel sha256 with the (path, size, mtime_ns, inode) cache; local plan without network."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

import pytest

from publish.errors import UsageError
from publish.hub import hashing
from publish.hub.hashing import HashCache, HashStats, git_blob_sha1, hash_files
from publish.hub.plan import local_plan


@pytest.fixture
def files(tmp_path):
    d = tmp_path / "folder"
    d.mkdir()
    out = []
    for i, size in enumerate([0, 1, 9 * 1024 * 1024 + 7, 3 * 1024 * 1024]):
        p = d / f"f{i}.bin"
        p.write_bytes(os.urandom(size))
        out.append(p)
    return out


def test_digests_match_hashlib(files, tmp_path):
    got = hash_files(files, cache=HashCache(tmp_path / "c.json"), workers=3)
    assert got == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_cache_avoids_rehashing_and_notices_changes(files, tmp_path, monkeypatch):
    cache_file = tmp_path / "cache" / "hashes.json"
    first = HashStats()
    hash_files(files, cache=HashCache(cache_file), stats=first)
    assert first.files_hashed == 4 and first.bytes_hashed == sum(p.stat().st_size for p in files)

    reads = []
    real = hashing.sha256_file
    monkeypatch.setattr(hashing, "sha256_file", lambda path, progress=None: reads.append(path) or real(path, progress))
    again = HashStats()
    assert hash_files(files, cache=HashCache(cache_file), stats=again)[files[2]] == \
        hashlib.sha256(files[2].read_bytes()).hexdigest()
    assert reads == [] and again.cache_hits == 4 and again.bytes_hashed == 0

    files[3].write_bytes(b"changed")                       # new size and mtime
    os.utime(files[1], ns=(0, files[1].stat().st_mtime_ns + 1))   # same bytes, new mtime
    third = HashStats()
    got = hash_files(files, cache=HashCache(cache_file), stats=third)
    assert sorted(p.name for p in reads) == ["f1.bin", "f3.bin"]
    assert got[files[3]] == hashlib.sha256(b"changed").hexdigest()
    assert third.cache_hits == 2


def test_replaced_file_with_same_size_and_mtime_is_rehashed(files, tmp_path):
    cache = HashCache(tmp_path / "c.json")
    hash_files(files, cache=cache)
    p = files[1]
    st = p.stat()
    tmp = p.with_suffix(".new")
    tmp.write_bytes(b"\x00" if p.read_bytes() != b"\x00" else b"\x01")
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, p)                                     # new inode, same size and mtime
    stats = HashStats()
    got = hash_files([p], cache=HashCache(tmp_path / "c.json"), stats=stats)
    assert stats.files_hashed == 1 and got[p] == hashlib.sha256(p.read_bytes()).hexdigest()


def test_a_damaged_cache_only_costs_a_rehash(files, tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text("{not json")
    stats = HashStats()
    hash_files(files[:2], cache=HashCache(bad), stats=stats)
    assert stats.files_hashed == 2
    assert set(json.loads(bad.read_text())["files"]) == {str(p) for p in files[:2]}


def test_cache_defaults_to_the_user_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PUBLISH_HASH_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert HashCache().path == tmp_path / "xdg" / "publish" / "hashes.json"


def test_local_plan_lists_every_pushable_file_and_never_the_cache(tmp_path, monkeypatch):
    d = tmp_path / "stage"
    (d / "sub").mkdir(parents=True)
    (d / "a.gguf").write_bytes(b"GGUF")
    (d / "sub" / "b.txt").write_text("b")
    (d / ".hidden").write_text("x")
    (d / ".git").mkdir()
    (d / ".git" / "config").write_text("x")
    monkeypatch.setenv("PUBLISH_HASH_CACHE", str(d / "hashes.json"))   # even if pointed inside the folder
    plan = local_plan(d)
    assert [(f.path, f.size) for f in plan] == [("a.gguf", 4), ("sub/b.txt", 1)]
    assert plan[0].sha256 == hashlib.sha256(b"GGUF").hexdigest()
    assert (d / "hashes.json").exists()
    assert [f.path for f in local_plan(d)] == ["a.gguf", "sub/b.txt"]


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(UsageError, match="no files to push"):
        local_plan(tmp_path)
    with pytest.raises(UsageError, match="not a folder"):
        local_plan(tmp_path / "nope")


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_blob_sha1_matches_git(tmp_path):
    p = tmp_path / "params"
    p.write_text('{"stop": ["<end_of_turn>"]}\n')
    expected = subprocess.run(["git", "hash-object", str(p)], capture_output=True, text=True, check=True).stdout.strip()
    assert git_blob_sha1(p) == expected
