/**
 * {@code sluice doctor}: the brief's 12-point production-readiness checklist run against a live gateway and its nodes.
 * Start at {@link dev.sluice.doctor.Doctor}; the verdicts themselves are pure functions in {@link dev.sluice.doctor.Verdicts}.
 */
package dev.sluice.doctor;
