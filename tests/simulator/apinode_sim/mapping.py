"""GenerationsMapping: parse, validate, normalise, and dispatch a query to a generation.

Accepted shapes (reference section 4):
  {"entries": [{"generation": "v1", "proba": 0.5}, ...]}                 documented form (MULTI, RANDOM)
  {"mode": "SINGLE_GENERATION", "generation": "v1", ...}                  with or without the one-entry
                                                                         "entries" list (or with it alone)
  {"mode": "MULTI_GENERATION", "entries": [...], "strategy": "RANDOM"|"HASH_BASED",
   "auditRoutingKey"?: str, "auditMetadata"?: {...}}
The body is stored and returned as given; only the normalised view below drives dispatch.
"""

import hashlib
import random
import secrets
import struct

from .errors import bad_request, malformed

SINGLE = "SINGLE_GENERATION"
MULTI = "MULTI_GENERATION"
RANDOM = "RANDOM"
HASH_BASED = "HASH_BASED"
TOLERANCE = 1e-6

# The real node hashes dispatch keys with Guava's goodFastHash, whose seed is drawn per JVM run:
# a key always reaches the same generation within one process, not across restarts or nodes.
# The simulator reproduces that with a per-process random seed.
_HASH_SEED = secrets.token_bytes(16)


class Mapping:
    """Normalised mapping: ordered (generation, proba) entries and a strategy."""

    def __init__(self, entries, strategy):
        self.entries = entries
        self.strategy = strategy

    @property
    def generations(self):
        return [generation for generation, unused_mapping in self.entries]

    def shares(self):
        """generation -> share of traffic (sums entries naming the same generation)."""
        result = {}
        for generation, proba in self.entries:
            result[generation] = result.get(generation, 0.0) + proba
        return result


def normalise(body):
    """Validate the shape of a mapping body and return a Mapping (400 on any problem)."""
    if not isinstance(body, dict):
        raise malformed("GenerationsMapping")
    mode = body.get("mode")
    strategy = body.get("strategy") or RANDOM
    if strategy not in (RANDOM, HASH_BASED):
        raise bad_request("Invalid mapping strategy: %s (expected RANDOM or HASH_BASED)" % strategy)
    if mode == SINGLE:
        return Mapping([(_single_generation_of(body), 1.0)], RANDOM)
    if mode not in (None, MULTI):
        raise bad_request("Invalid mapping mode: %s (expected SINGLE_GENERATION or MULTI_GENERATION)" % mode)
    entries = body.get("entries")
    if not isinstance(entries, list) or not entries:
        raise bad_request("Generations mapping has no entries")
    parsed = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise malformed("GenerationsMapping")
        generation = entry.get("generation")
        proba = entry.get("proba")
        if not isinstance(generation, str) or not generation.strip():
            raise bad_request("Generations mapping entry without a generation")
        if isinstance(proba, bool) or not isinstance(proba, (int, float)) or proba < 0:
            raise bad_request("Invalid proba for generation %s: %r" % (generation, proba))
        parsed.append((generation, float(proba)))
    total = sum(proba for unused_generation, proba in parsed)
    if abs(total - 1.0) > TOLERANCE:
        raise bad_request("Probabilities must sum to 1 (got %s)" % total)
    return Mapping(parsed, strategy)


def _single_generation_of(body):
    """The generation of a SINGLE_GENERATION body: ``generation``, with or without the equivalent
    one-entry ``entries`` list (the form switchTo stores), or that list alone. Entries naming another
    generation, or several, contradict the mode: 400 (the node would ignore them, INFERRED)."""
    generation = body.get("generation")
    entries = body.get("entries")
    named = None
    if entries not in (None, []):
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise malformed("GenerationsMapping")
        names = sorted({e.get("generation") for e in entries})
        if len(names) != 1 or not isinstance(names[0], str) or not names[0].strip():
            raise bad_request("A SINGLE_GENERATION mapping maps one generation, its entries name: %s"
                              % ", ".join(str(n) for n in names))
        named = names[0]
    if generation is None:
        generation = named
    if not isinstance(generation, str) or not generation.strip():
        raise bad_request("A SINGLE_GENERATION mapping needs a 'generation'")
    if named is not None and named != generation:
        raise bad_request("A SINGLE_GENERATION mapping for generation %s has entries for generation %s"
                          % (generation, named))
    return generation


def validate(body, known_generations):
    """normalise() plus: every generation must be on disk (400 naming the unknown ones)."""
    mapping = normalise(body)
    unknown = sorted(set(mapping.generations) - set(known_generations))
    if unknown:
        raise bad_request("Unknown generation(s) in mapping: %s" % ", ".join(unknown))
    return mapping


def single_generation(generation, previous=None):
    """The mapping switchTo builds: one generation at proba 1.0, keeping auditRoutingKey.

    INFERRED serialisation: both the SINGLE form (mode + generation) and the equivalent entries list,
    so readers of either form see the same thing.
    """
    body = {"mode": SINGLE, "generation": generation, "entries": [{"generation": generation, "proba": 1.0}]}
    if previous and previous.get("auditRoutingKey") is not None:
        body["auditRoutingKey"] = previous["auditRoutingKey"]
    return body


def _cumulative_pick(entries, u):
    cumulative = 0.0
    for generation, proba in entries:
        cumulative += proba
        if u < cumulative:
            return generation
    return entries[-1][0]


def hash_unit(key):
    """(|64-bit seeded hash| mod 10000) / 10000, like HashBasedGenerationSelector."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8, key=_HASH_SEED).digest()
    value = struct.unpack(">q", digest)[0]
    return (abs(value) % 10000) / 10000.0


def dispatch(mapping, dispatch_params, mounted):
    """Pick the generation that answers a query.

    dispatch_params: the query's "dispatch" object (may be None); mounted: generations loaded now.
    """
    dispatch_params = dispatch_params if isinstance(dispatch_params, dict) else {}
    forced = dispatch_params.get("forcedGeneration")
    if isinstance(forced, str) and forced.strip():
        if forced not in mounted:
            raise bad_request("Invalid selected generation: %s" % forced)
        return forced
    if mapping.strategy == HASH_BASED:
        key = dispatch_params.get("dispatchKey")
        if key is None or (isinstance(key, str) and not key.strip()):
            raise bad_request("For a HASH_BASED dispatch, the dispatch key is mandatory in queries")
        return _cumulative_pick(mapping.entries, hash_unit(str(key)))
    return _cumulative_pick(mapping.entries, random.random())
