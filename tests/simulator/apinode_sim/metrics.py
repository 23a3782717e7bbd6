"""A small Dropwizard-style metrics registry that really counts, serialised like metrics-json 3.1
(rates per second, durations in milliseconds), plus the Prometheus text rendering."""

import math
import re
import threading
import time

METRICS_JSON_VERSION = "3.1.3"
TICK_SECONDS = 5.0
_ALPHAS = {name: 1.0 - math.exp(-TICK_SECONDS / 60.0 / minutes)
           for name, minutes in (("m1_rate", 1), ("m5_rate", 5), ("m15_rate", 15))}
RESERVOIR_SIZE = 1028


class Counter:
    def __init__(self):
        self.count = 0

    def inc(self, n=1):
        self.count += n

    def dec(self, n=1):
        self.count -= n

    def to_json(self):
        return {"count": self.count}


class Meter:
    """Count + mean rate + 1/5/15-minute exponentially weighted rates (ticked lazily every 5 s)."""

    def __init__(self):
        self.count = 0
        self.start = time.monotonic()
        self.last_tick = self.start
        self.uncounted = 0
        self.rates = {name: None for name in _ALPHAS}

    def _tick(self):
        now = time.monotonic()
        while now - self.last_tick >= TICK_SECONDS:
            instant = self.uncounted / TICK_SECONDS
            self.uncounted = 0
            for name, alpha in _ALPHAS.items():
                rate = self.rates[name]
                self.rates[name] = instant if rate is None else rate + alpha * (instant - rate)
            self.last_tick += TICK_SECONDS

    def mark(self, n=1):
        self._tick()
        self.count += n
        self.uncounted += n

    def to_json(self):
        self._tick()
        elapsed = time.monotonic() - self.start
        body = {"count": self.count, "mean_rate": self.count / elapsed if elapsed > 0 else 0.0,
                "units": "events/second"}
        for name in _ALPHAS:
            body[name] = self.rates[name] or 0.0
        return body


def _snapshot(values):
    if not values:
        return {"max": 0.0, "mean": 0.0, "min": 0.0, "p50": 0.0, "p75": 0.0, "p95": 0.0, "p98": 0.0,
                "p99": 0.0, "p999": 0.0, "stddev": 0.0}
    ordered = sorted(values)
    mean = sum(ordered) / len(ordered)
    variance = sum((v - mean) ** 2 for v in ordered) / len(ordered)

    def quantile(q):
        return ordered[min(len(ordered) - 1, int(math.ceil(q * len(ordered))) - 1 if q > 0 else 0)]

    return {"max": ordered[-1], "mean": mean, "min": ordered[0], "p50": quantile(0.5), "p75": quantile(0.75),
            "p95": quantile(0.95), "p98": quantile(0.98), "p99": quantile(0.99), "p999": quantile(0.999),
            "stddev": math.sqrt(variance)}


class Timer:
    """A meter of calls plus a sliding reservoir of their durations (milliseconds)."""

    def __init__(self):
        self.meter = Meter()
        self.durations = []

    @property
    def count(self):
        return self.meter.count

    def update(self, seconds):
        self.meter.mark()
        self.durations.append(seconds * 1000.0)
        if len(self.durations) > RESERVOIR_SIZE:
            del self.durations[0]

    def to_json(self):
        meter = self.meter.to_json()
        body = {"count": meter["count"]}
        body.update(_snapshot(self.durations))
        for name in ("m15_rate", "m1_rate", "m5_rate", "mean_rate"):
            body[name] = meter[name]
        body["duration_units"] = "milliseconds"
        body["rate_units"] = "calls/second"
        return body


class Registry:
    """Thread-safe name -> metric registry."""

    def __init__(self):
        self._lock = threading.Lock()
        self._metrics = {"counters": {}, "meters": {}, "timers": {}}

    def _get(self, kind, name, factory):
        family = self._metrics[kind]
        metric = family.get(name)
        if metric is None:
            metric = family.setdefault(name, factory())
        return metric

    def inc(self, name, n=1):
        with self._lock:
            self._get("counters", name, Counter).inc(n)

    def dec(self, name, n=1):
        with self._lock:
            self._get("counters", name, Counter).dec(n)

    def mark(self, name, n=1):
        with self._lock:
            self._get("meters", name, Meter).mark(n)

    def time(self, name, seconds):
        with self._lock:
            self._get("timers", name, Timer).update(seconds)

    def meter_json(self, name):
        with self._lock:
            metric = self._metrics["meters"].get(name) or Meter()
            return metric.to_json()

    def timer_json(self, name):
        with self._lock:
            metric = self._metrics["timers"].get(name) or Timer()
            return metric.to_json()

    def names(self, kind):
        with self._lock:
            return sorted(self._metrics[kind])

    def to_json(self, gauges=None):
        with self._lock:
            return {
                "version": METRICS_JSON_VERSION,
                "gauges": {name: {"value": value} for name, value in sorted((gauges or {}).items())},
                "counters": {n: m.to_json() for n, m in sorted(self._metrics["counters"].items())},
                "histograms": {},
                "meters": {n: m.to_json() for n, m in sorted(self._metrics["meters"].items())},
                "timers": {n: m.to_json() for n, m in sorted(self._metrics["timers"].items())},
            }


def _prom_name(name):
    return re.sub(r"[^a-zA-Z0-9_:]", "_", name)


def to_prometheus(dump):
    """Prometheus text format 0.0.4 of a to_json() dump (counts, rates and timer quantiles)."""
    lines = []

    def emit(name, kind, value, labels=""):
        lines.append("# TYPE %s %s" % (name, kind))
        lines.append("%s%s %s" % (name, labels, repr(float(value)) if isinstance(value, float) else value))

    for name, gauge in dump["gauges"].items():
        if isinstance(gauge["value"], (int, float)):
            emit(_prom_name(name), "gauge", gauge["value"])
    for name, counter in dump["counters"].items():
        emit(_prom_name(name), "gauge", counter["count"])
    for name, meter in dump["meters"].items():
        emit(_prom_name(name) + "_total", "counter", meter["count"])
    for name, timer in dump["timers"].items():
        base = _prom_name(name)
        lines.append("# TYPE %s summary" % base)
        for q in ("p50", "p75", "p95", "p98", "p99", "p999"):
            quantile = "0." + q[1:] if q != "p999" else "0.999"
            lines.append('%s{quantile="%s"} %r' % (base, quantile, timer[q] / 1000.0))
        lines.append("%s_count %d" % (base, timer["count"]))
    return "\n".join(lines) + "\n"
