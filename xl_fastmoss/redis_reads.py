"""Reads from a team's Redis that never take more than a set size into this process.

Whoever can write to the team's Redis can make any value of it as big as Redis allows (512 MB a
string, billions of fields a hash), and a plain ``GET`` or ``HGETALL`` hands all of it over.
These reads are scripts that Redis runs: each measures the value on the server and sends it only
if it is within its limits. What is over a limit is refused with :class:`OverLimit`, having sent
nothing of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

# Redis runs a script alone, so the value measured is the value sent. KEYS: the string. ARGV: most
# bytes. The answer: 1 and the value (false when there is none), or 0 and its size.
_BOUNDED_STRING = """
local size = redis.call('STRLEN', KEYS[1])
if size > tonumber(ARGV[1]) then return {0, size} end
return {1, redis.call('GET', KEYS[1])}
"""
# The same for some fields of a hash. KEYS: the hash. ARGV: most bytes, then the fields. The
# answer: 1 and their values (false for a field it does not have), or 0 and their size.
_BOUNDED_FIELDS = """
local size = 0
for i = 2, #ARGV do size = size + redis.call('HSTRLEN', KEYS[1], ARGV[i]) end
if size > tonumber(ARGV[1]) then return {0, size} end
local values = redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
table.insert(values, 1, 1)
return values
"""
# The same for a whole hash. KEYS: the hash. ARGV: most fields, most bytes (field names and
# values together), HGETALL or HVALS. The answer: 1 and the items, or 0 and what was over.
_BOUNDED_HASH = """
local fields = redis.call('HLEN', KEYS[1])
if fields > tonumber(ARGV[1]) then return {0, fields, 'fields'} end
local items = redis.call(ARGV[3], KEYS[1])
local size = 0
for _, item in ipairs(items) do size = size + #item end
if size > tonumber(ARGV[2]) then return {0, size, 'bytes'} end
table.insert(items, 1, 1)
return items
"""


class OverLimit(Exception):
    """A Redis value bigger than what this process reads of it; nothing of it was sent."""


@dataclass(frozen=True)
class HashLimit:
    """The most a hash of one kind may hold to be read: its fields, and its bytes in all."""

    fields: int
    size: int


class BoundedReads:
    """The reads of one Redis connection that are bounded in size."""

    def __init__(self, connection: redis.Redis):
        self._connection = connection
        self._bounded_string = connection.register_script(_BOUNDED_STRING)
        self._bounded_fields = connection.register_script(_BOUNDED_FIELDS)
        self._bounded_hash = connection.register_script(_BOUNDED_HASH)

    def string(self, name: str, limit: int) -> bytes | None:
        """The string value of ``name`` (None when there is none), or OverLimit past ``limit`` bytes."""
        answer = self._bounded_string(keys=[name], args=[limit])
        if answer[0] != 1:
            raise OverLimit(f"{name} holds {answer[1]:,} bytes, over the {limit:,} read")
        return answer[1]

    def fields(self, name: str, fields: list[str], size: int) -> list[bytes | None]:
        """The values of ``fields`` in the hash ``name`` (None for each it lacks), or OverLimit
        past ``size`` bytes together."""
        answer = self._bounded_fields(keys=[name], args=[size, *fields])
        if answer[0] != 1:
            raise OverLimit(f"{name} holds {answer[1]:,} bytes in {', '.join(fields)}, over the {size:,} read")
        return answer[1:]

    def hash(self, name: str, limit: HashLimit) -> dict[bytes, bytes]:
        """Every field of the hash ``name`` with its value ({} when there is none)."""
        items = self._items(name, limit, "HGETALL")
        return dict(zip(items[::2], items[1::2], strict=True))

    def hash_values(self, name: str, limit: HashLimit) -> list[bytes]:
        """The values of the hash ``name`` ([] when there is none)."""
        return self._items(name, limit, "HVALS")

    def _items(self, name: str, limit: HashLimit, command: str) -> list[bytes]:
        answer = self._bounded_hash(keys=[name], args=[limit.fields, limit.size, command])
        if answer[0] != 1:
            found, unit = answer[1], answer[2].decode()
            allowed = limit.fields if unit == "fields" else limit.size
            raise OverLimit(f"{name} holds {found:,} {unit}, over the {allowed:,} read")
        return answer[1:]
