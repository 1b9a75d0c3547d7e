"""Reference deploy steps, one module per topic. Solution cells, `workshop catch-up`,
tests and benchmarks all call these, so there is one way the course deploys."""
