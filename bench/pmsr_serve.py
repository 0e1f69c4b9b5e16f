"""Runs postfix-mta-sts-resolver's socketmap responder with its in-memory cache filled.

Usage: pmsr_serve.py PORT POLICIES DOMAIN MX

The cache holds an `enforce` policy for DOMAIN (mx: MX) and for POLICIES other domains, all
fresh, and the cache grace is a year: every answer comes from the cache, as for the "cached
enforce domain" of the reference figures. Uses uvloop, as its daemon does by default.
"""

import asyncio
import sys
import time

import uvloop

from postfix_mta_sts_resolver import utils
from postfix_mta_sts_resolver.base_cache import CacheEntry
from postfix_mta_sts_resolver.responder import STSSocketmapResponder


async def main(port, policies, domain, mx):
    cfg = utils.populate_cfg_defaults({
        "host": "127.0.0.1",
        "port": port,
        "cache_grace": 31536000,
        "cache": {"type": "internal", "options": {"cache_size": policies + 10}},
        "proactive_policy_fetching": {"enabled": False},
    })
    cache = utils.create_cache(cfg["cache"]["type"], cfg["cache"]["options"])
    await cache.setup()
    now = time.time()
    body = {"version": "STSv1", "mode": "enforce", "mx": [mx], "max_age": 604800}
    await cache.set(domain, CacheEntry(now, "bench1", body))
    for i in range(policies):
        name = "policy-%d.test" % i
        await cache.set(name, CacheEntry(now, "bench1", dict(body, mx=["mx." + name])))
    responder = STSSocketmapResponder(cfg, asyncio.get_running_loop(), cache)
    await responder.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]))
