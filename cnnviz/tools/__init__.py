"""Developer tooling: benchmarks, screenshots, the GPU check. Not imported by the app."""
