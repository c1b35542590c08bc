"""Stale-cache fallback: Engine.cache_put and a rule's cache recovery."""
import time

import pytest

import faultline

POLICY = '''policy { name = "pycache", version = "1" }
category "unavailable" { severity = "error", retryable = true }
rule "profile" { when = { code = "ETIMEDOUT" }, category = "unavailable",
  recovery = cache { key = "{op}:{tags.user}", max_stale_ms = 600000,
                     otherwise = fallback({ status = "default" }) } }
'''


def _engine():
    e = faultline.Engine()
    e.load_string(POLICY)
    return e


def test_hit_carries_value_and_age():
    e = _engine()
    e.cache_put("profile:u1", {"name": "Ada", "plan": [1, 2], "\u00e9": None}, 60000)
    d = e.decide({"code": "ETIMEDOUT", "op": "profile", "tags": {"user": "u1"}})
    assert d.action == "fallback"
    assert d.fallback == {"name": "Ada", "plan": [1, 2], "\u00e9": None}
    assert d.cache["key"] == "profile:u1"
    assert 0 <= d.cache["age_ms"] < 60000
    assert d.reason is None
    e.close()


def test_miss_falls_through():
    e = _engine()
    d = e.decide({"code": "ETIMEDOUT", "op": "profile", "tags": {"user": "nobody"}})
    assert d.action == "fallback"
    assert d.fallback == {"status": "default"}
    assert d.cache is None
    assert d.reason == "cache_miss"
    e.cache_put("profile:short", 1, 1)
    time.sleep(0.02)
    d = e.decide({"code": "ETIMEDOUT", "op": "profile", "tags": {"user": "short"}})
    assert d.reason == "cache_miss"
    e.close()


def test_bad_input():
    e = _engine()
    with pytest.raises(TypeError):
        e.cache_put(1, 1, 1000)
    with pytest.raises(TypeError):
        e.cache_put("k", object(), 1000)
    with pytest.raises(TypeError):
        e.cache_put("k", 1, "1000")
    with pytest.raises(ValueError, match="ttl_ms"):
        e.cache_put("k", 1, 0)
    with pytest.raises(ValueError, match="1..512 bytes"):
        e.cache_put("", 1, 1000)
    with pytest.raises(ValueError, match="1..512 bytes"):
        e.cache_put("k" * 513, 1, 1000)
    with pytest.raises(ValueError):
        e.cache_put("k", float("nan"), 1000)
    e.close()
