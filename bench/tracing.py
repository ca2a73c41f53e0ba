"""7. What tracing costs: CPU per `Hub.reply` (an in-process provider, SQLite
logging on) with opentelemetry-api absent, installed with no tracer provider
(tracing off, the default), and with the SDK recording every span. The first
two must be the same: spans cost nothing until an app turns tracing on."""

from __future__ import annotations

from ._common import median, run_json, table

MODES = ["absent", "off", "on"]
ROUNDS = 5


def run() -> str:
    runs: dict[str, list[float]] = {mode: [] for mode in MODES}
    errors: dict[str, str] = {}
    for _ in range(ROUNDS):  # interleaved, so drift of the machine hits every mode alike
        for mode in MODES:
            result = run_json("bench._tracing_client", "--mode", mode)
            if isinstance(result, str):
                errors[mode] = result
            else:
                runs[mode].append(result["cpu_us"])
    base = median(runs["absent"]) if runs["absent"] else 0.0
    rows: list[tuple[object, ...]] = []
    labels = {
        "absent": "opentelemetry-api not installed",
        "off": "installed, no tracer provider (default)",
        "on": "SDK tracer provider, every span kept",
    }
    for mode in MODES:
        if mode in errors:
            rows.append((labels[mode], f"failed: {errors[mode]}", "-"))
            continue
        cpu = median(runs[mode])
        rows.append((labels[mode], f"{cpu:.1f}", f"{cpu / base:.2f}x" if base else "-"))
    return table(
        "Tracing: client CPU per call (in-process provider, SQLite logging on, median of 5)",
        ["OpenTelemetry", "CPU µs / call", "vs not installed"],
        rows,
    )


if __name__ == "__main__":
    print(run())
