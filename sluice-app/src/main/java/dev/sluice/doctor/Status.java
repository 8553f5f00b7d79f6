package dev.sluice.doctor;

/** Outcome of one check. Only {@link #FAIL} makes the checklist fail: SKIP and WARN count as passed. */
public enum Status {
  PASS, WARN, SKIP, FAIL
}
